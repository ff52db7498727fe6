# T1w -> FLAIR with white-matter lesions on the embedded phantom: the T1w -> T2w
# data with FLAIR as the target. Lesion data sets (MICCAI WMH, BraTS) have
# lesions in every subject; the phantom's seed-0 pick of 2 (phantom_002,
# phantom_004) has them in one, so training uses the first 2 subjects in the
# same seed order that have lesions.
_base_ = ['./phantom_t1_t2.py']
target = 'flair'
train_dataloader = dict(dataset=dict(dataset=dict(
    target=target, subjects=['phantom_002', 'phantom_003'])))
val_dataloader = dict(dataset=dict(target=target))
test_dataloader = val_dataloader
