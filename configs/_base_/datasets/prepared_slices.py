# Loaders over a prepared root (tools/prepare_data.py); a data-set file such
# as ixi_t1_t2.py inherits this and fills in `data` (root, contrasts, hint).
image_size = 256
train_dataloader = dict(
    batch_size=1, num_workers=4, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='fgsb.paired_collate'),
    # Every model gets a second, random slice a sample; FGSB/UNSB use it as the
    # MI estimator's negative (batch size 1), Pix2Pix ignores it.
    dataset=dict(type='NegativePairDataset', dataset=dict(
        type='PairedSliceDataset', split='train', num_subjects=2,
        size=image_size, flip_prob=0.5)))
val_dataloader = dict(
    batch_size=8, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='fgsb.paired_collate'),
    dataset=dict(type='PairedSliceDataset', split='test', size=image_size))
test_dataloader = val_dataloader

val_evaluator = dict(type='VolumeSynthesisMetric')
test_evaluator = val_evaluator
