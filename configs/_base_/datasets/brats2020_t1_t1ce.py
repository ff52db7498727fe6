# BraTS 2020, T1w -> contrast-enhanced T1w; the same prepared folder as
# brats2020_t1_t2.py.
_base_ = ['./brats2020_t1_t2.py']
target = 't1ce'
train_dataset = dict(target=target)
val_dataset = dict(target=target)
test_dataset = val_dataset
