# The v2 study's schedule (docs/results_v2.md), the same for every method:
# iteration-based, at most `max_iters` iterations, validation every
# `val_interval` on 2 subjects carved from the training split (never the
# test split), constant learning rate for the first half of the budget and a
# linear decay to 0 over the second. The stopping rule (ValidationStoppingHook),
# checked from the start of the decay on: stop when the best validation PSNR has
# not improved by 0.1 dB over the last quarter of the budget; the
# best-validation checkpoint is the one scored.
# It carries the runtime (hooks) so that a study config lists model, data
# (a *_study.py data base, which carves the validation subjects) and this.
_base_ = ['../default_runtime.py']
max_iters = 3000
val_interval = 250
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=val_interval)
val_cfg = dict()
test_cfg = dict()
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0, end_factor=0.0, by_epoch=False,
         begin=max_iters // 2, end=max_iters),
]
default_hooks = dict(
    checkpoint=dict(by_epoch=False, interval=val_interval, max_keep_ckpts=1,
                    save_last=True, save_best='PSNR', rule='greater'))
custom_hooks = [
    dict(type='ValidationStoppingHook', monitor='PSNR', rule='greater', min_delta=0.1,
         window_fraction=0.25, start_fraction=0.5),
    dict(type='ImageGridHook', interval=500, max_images=4),
]
log_processor = dict(by_epoch=False)
