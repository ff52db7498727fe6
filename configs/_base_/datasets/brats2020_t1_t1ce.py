# BraTS 2020, T1w -> contrast-enhanced T1w; the same prepared folder as
# brats2020_t1_t2.py.
_base_ = ['./brats2020_t1_t2.py']
target = 't1ce'
train_dataloader = dict(dataset=dict(dataset=dict(target=target)))
val_dataloader = dict(dataset=dict(target=target))
test_dataloader = val_dataloader
