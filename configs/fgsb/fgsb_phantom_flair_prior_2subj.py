# FGSB, T1w -> FLAIR with white-matter lesions, 2 phantom subjects, with the
# intensity-threshold prior (paper 3.3): the context-preserving L1 (weight 10)
# and the prior-weighted PatchNCE attend to hyperintense regions.
# theta=0.9 on the phantom's normalised FLAIR marks 64% of the lesion voxels and
# the brightest ~1.5% of other brain voxels (grey matter is bright in FLAIR).
_base_ = [
    '../_base_/models/fgsb_resnet_cpu.py',
    '../_base_/datasets/phantom_t1_flair_lesions.py',
    '../_base_/schedules/cpu_short.py',
    '../_base_/default_runtime.py',
]
prior = dict(type='ThresholdPrior', theta=0.9)
train_dataloader = dict(dataset=dict(dataset=dict(prior=prior)))
model = dict(ctx_loss=dict(_delete_=True, type='PriorWeightedL1Loss', loss_weight=10.0))
