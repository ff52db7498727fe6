# FGSB (2) with the lesion prior, MICCAI 2017 WMH T1w -> FLAIR at paper scale
# (paper 4.1.2): the ground-truth WMH label as the prior map M, the
# context-preserving L1 (weight 10) and prior-weighted PatchNCE.
_base_ = [
    '../_base_/models/fgsb_resnet.py',
    '../_base_/datasets/wmh2017_t1_flair.py',
    '../_base_/schedules/paper_200e.py',
    '../_base_/default_runtime.py',
]
train_dataloader = dict(dataset=dict(dataset=dict(
    prior=dict(type='SegmentationPrior'))))
model = dict(ctx_loss=dict(_delete_=True, type='PriorWeightedL1Loss', loss_weight=10.0))
