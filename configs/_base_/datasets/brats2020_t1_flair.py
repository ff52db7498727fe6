# BraTS 2020, T1w -> FLAIR; the same prepared folder as brats2020_t1_t2.py.
_base_ = ['./brats2020_t1_t2.py']
target = 'flair'
train_dataset = dict(target=target)
val_dataset = dict(target=target)
test_dataset = val_dataset
