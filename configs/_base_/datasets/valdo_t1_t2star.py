# VALDO 2021 Task 2, T1w -> T2* (paper 4.1.5: 19 training and 8 test
# subjects); lesion masks from the microbleed annotations.
data_root = 'data/valdo_prepared'
prepare_command = ('python tools/prepare_data.py valdo --root data/VALDO/Task2 '
                   '--out data/valdo_prepared --max-subjects 27 --test-subjects 8')
source, target = 't1', 't2star'
train_dataset = dict(
    type='PairedSliceDataset', data_root=data_root, source=source, target=target,
    split='train', num_subjects=2, size=256, flip_prob=0.5,
    missing_root_hint=f'prepare it first: {prepare_command}')
test_dataset = dict(
    type='PairedSliceDataset', data_root=data_root, source=source, target=target,
    split='test', size=256, missing_root_hint=f'prepare it first: {prepare_command}')

train_dataloader = dict(
    batch_size=1, num_workers=4, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='fgsb.paired_collate'),
    # Every model gets a second, random slice a sample; FGSB/UNSB use it as the
    # MI estimator's negative (batch size 1), Pix2Pix ignores it.
    dataset=dict(type='NegativePairDataset', dataset=train_dataset))
val_dataloader = dict(
    batch_size=8, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='fgsb.paired_collate'),
    dataset=test_dataset)
test_dataloader = val_dataloader

val_evaluator = dict(type='VolumeSynthesisMetric')
test_evaluator = val_evaluator
