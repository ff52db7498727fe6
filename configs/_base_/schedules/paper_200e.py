# Paper 4.4 / UNSB: Adam 2e-4, 200 epochs, constant for 100 then linear to 0.
max_epochs = 200
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=20)
val_cfg = dict()
test_cfg = dict()
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0, end_factor=0.0, by_epoch=True,
         begin=max_epochs // 2, end=max_epochs, convert_to_iter_based=True),
]
