# BraTS 2020, T1w -> FLAIR; the same prepared folder as brats2020_t1_t2.py.
_base_ = ['./brats2020_t1_t2.py']
target = 'flair'
train_dataloader = dict(dataset=dict(dataset=dict(target=target)))
val_dataloader = dict(dataset=dict(target=target))
test_dataloader = val_dataloader
