# The CPU schedule for "all training subjects" (8 phantom subjects): 1 epoch,
# the same number of iterations as cpu_short.py's 4 epochs over 2 subjects.
# The paper shortens training the same way for its full-data setting (50
# instead of 200 epochs). Constant learning rate for the first half, linear
# decay to 0 over the second, as everywhere.
max_epochs = 1
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict()
test_cfg = dict()
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0, end_factor=0.0, by_epoch=True,
         begin=max_epochs / 2, end=max_epochs, convert_to_iter_based=True),
]
