# FGSB (2), VALDO T1w -> T2* at paper scale (paper 4.1.5).
_base_ = [
    '../_base_/models/fgsb_resnet.py',
    '../_base_/datasets/valdo_t1_t2star.py',
    '../_base_/schedules/paper_200e.py',
    '../_base_/default_runtime.py',
]
