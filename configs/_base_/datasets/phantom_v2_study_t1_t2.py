# Phantom v2 T1w -> T2w for the v2 study: 2 validation subjects carved from
# the training split (the same seed in train and val, so both carve the same
# subjects: phantom_002, phantom_004); the 2 training subjects are then
# chosen from the 6 left (phantom_005, phantom_003); test is the test split.
_base_ = ['./phantom_v2_t1_t2.py']
val_subjects = 2
train_dataloader = dict(dataset=dict(dataset=dict(val_subjects=val_subjects)))
val_dataloader = dict(dataset=dict(split='val', val_subjects=val_subjects))
test_dataloader = dict(dataset=dict(split='test'))
