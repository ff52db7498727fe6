# FGSB, T1w -> T2w, 2 phantom subjects, 128x128, CPU size: the quick start.
# The networks and the short-budget settings are in fgsb_resnet_cpu.py.
_base_ = [
    '../_base_/models/fgsb_resnet_cpu.py',
    '../_base_/datasets/phantom_t1_t2.py',
    '../_base_/schedules/cpu_short.py',
    '../_base_/default_runtime.py',
]
