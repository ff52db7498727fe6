# Pix2Pix (ResNet-9), T1w -> T2w, 2 training subjects of phantom version 2:
# the "(2)" arm of the phantom-v2 data-size check (docs/phantom.md).
_base_ = [
    '../_base_/models/pix2pix_resnet_cpu.py',
    '../_base_/datasets/phantom_v2_t1_t2.py',
    '../_base_/schedules/cpu_short.py',
    '../_base_/default_runtime.py',
]
