# A few epochs that 2 CPU cores finish in minutes; same shape as the paper's:
# constant learning rate for the first half, linear decay to 0 over the second.
max_epochs = 4
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict()
test_cfg = dict()
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0, end_factor=0.0, by_epoch=True,
         begin=max_epochs // 2, end=max_epochs, convert_to_iter_based=True),
]
