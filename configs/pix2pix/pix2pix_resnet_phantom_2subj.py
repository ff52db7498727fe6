# Pix2Pix with the paper's ResNet-9 generator, T1w -> T2w, 2 phantom subjects,
# 128x128, CPU size (networks in pix2pix_resnet_cpu.py).
_base_ = [
    '../_base_/models/pix2pix_resnet_cpu.py',
    '../_base_/datasets/phantom_t1_t2.py',
    '../_base_/schedules/cpu_short.py',
    '../_base_/default_runtime.py',
]
