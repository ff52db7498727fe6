# FGSB (16), BraTS 2020 low-grade gliomas, T1w -> t2 at paper scale (paper 4.1.3).
_base_ = [
    '../_base_/models/fgsb_resnet.py',
    '../_base_/datasets/brats2020_t1_t2.py',
    '../_base_/schedules/paper_200e.py',
    '../_base_/default_runtime.py',
]
train_dataloader = dict(dataset=dict(dataset=dict(num_subjects=16)))
