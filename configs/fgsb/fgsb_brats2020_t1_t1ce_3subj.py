# FGSB (3), BraTS 2020 low-grade gliomas, T1w -> t1ce at paper scale (paper 4.1.3).
_base_ = [
    '../_base_/models/fgsb_resnet.py',
    '../_base_/datasets/brats2020_t1_t1ce.py',
    '../_base_/schedules/paper_200e.py',
    '../_base_/default_runtime.py',
]
train_dataloader = dict(dataset=dict(dataset=dict(num_subjects=3)))
