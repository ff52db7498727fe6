# T1w -> FLAIR on phantom version 2 for the v2 study: its T1w -> T2w data with FLAIR as the
# target. The seed-0 choice of 2 training subjects after the study's
# validation carve-out (phantom_005, Fazekas 3, and phantom_003, one focal
# lesion) has lesions in both, as lesion data sets (MICCAI WMH) do.
_base_ = ['./phantom_v2_study_t1_t2.py']
target = 'flair'
train_dataloader = dict(dataset=dict(dataset=dict(target=target)))
val_dataloader = dict(dataset=dict(target=target))
test_dataloader = val_dataloader
