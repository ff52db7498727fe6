# BraTS 2020, T1w -> T2w (paper 4.1.3: 25 low-grade gliomas, 16 training and 9
# test subjects); lesion masks from the tumour segmentation.
data_root = 'data/brats2020_prepared'
prepare_command = ('python tools/prepare_data.py brats2020 '
                   '--root data/BraTS2020/MICCAI_BraTS2020_TrainingData '
                   '--out data/brats2020_prepared --grade LGG --max-subjects 25 '
                   '--test-subjects 9')
source, target = 't1', 't2'
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
