# T1w -> T2w on the embedded phantom (generated and cached on first use).
phantom = dict(num_subjects=12, seed=0, field_strength=1.5, num_test=4)
data_root = 'data/phantom_1.5T_seed0'
source, target = 't1', 't2'
image_size = 128

train_dataset = dict(
    type='PhantomSliceDataset', phantom=phantom, data_root=data_root,
    source=source, target=target, split='train', num_subjects=2, seed=0,
    size=image_size, flip_prob=0.5)
test_dataset = dict(
    type='PhantomSliceDataset', phantom=phantom, data_root=data_root,
    source=source, target=target, split='test', size=image_size)

train_dataloader = dict(
    batch_size=1, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='fgsb.paired_collate'),
    # Every model gets a second, random slice a sample; FGSB/UNSB use it as the
    # MI estimator's negative (batch size 1), Pix2Pix ignores it.
    dataset=dict(type='NegativePairDataset', dataset=train_dataset))
val_dataloader = dict(
    batch_size=8, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='fgsb.paired_collate'),
    dataset=test_dataset)
test_dataloader = val_dataloader

val_evaluator = dict(type='VolumeSynthesisMetric')
test_evaluator = val_evaluator
