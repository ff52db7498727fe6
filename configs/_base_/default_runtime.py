# Runtime shared by every experiment: logging, checkpoints, TensorBoard.
default_scope = 'fgsb'

env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # never writes non-finite weights; rotates only after a successful save
    checkpoint=dict(type='FiniteCheckpointHook', interval=1, by_epoch=True,
                    max_keep_ckpts=3, save_last=True),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # stops the run at the first NaN/Inf loss
    finite_loss=dict(type='FiniteLossHook'),
)
custom_hooks = [dict(type='ImageGridHook', interval=200, max_images=4)]

vis_backends = [dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends)

log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
# A config may set precision = 'fp32', 'bf16' (autocast) or 'auto' (bf16 where
# the device computes it natively); without the key a run takes the toolbox
# default, 'auto', and --precision overrides both (docs/benchmarks.md).
