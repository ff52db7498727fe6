# Pix2Pix (ResNet-9), T1w -> T2w, every training subject of phantom version 2
# (8 of 12) for 1 epoch, about the iterations of the 2-subject run's 4: the
# "(all)" arm of the phantom-v2 data-size check (docs/phantom.md).
_base_ = [
    '../_base_/models/pix2pix_resnet_cpu.py',
    '../_base_/datasets/phantom_v2_t1_t2.py',
    '../_base_/schedules/cpu_short_all_subjects.py',
    '../_base_/default_runtime.py',
]
train_dataloader = dict(dataset=dict(dataset=dict(num_subjects=None)))
