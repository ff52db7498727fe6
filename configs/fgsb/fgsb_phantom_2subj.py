# FGSB, T1w -> T2w, 2 phantom subjects, 128x128, CPU size: the quick start.
_base_ = [
    '../_base_/models/fgsb_resnet.py',
    '../_base_/datasets/phantom_t1_t2.py',
    '../_base_/schedules/cpu_short.py',
    '../_base_/default_runtime.py',
]
model = dict(generator=dict(ngf=16), discriminator=dict(ndf=16),
             mi_estimator=dict(ndf=16))
