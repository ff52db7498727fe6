# Study v2: the toolbox's best FGSB, T1w -> FLAIR with lesions, 2 training
# subjects of phantom v2: the T1w -> T2w best settings (fgsb_best_t2_2subj.py)
# with the paper's intensity-threshold prior (theta 0.9 on the normalised
# FLAIR; context-preserving L1 at weight 10, prior-weighted PatchNCE).
_base_ = [
    '../_base_/models/fgsb_resnet_cpu.py',
    '../_base_/datasets/phantom_v2_study_t1_flair.py',
    '../_base_/schedules/study_v2.py',
]
model = dict(generator=dict(in_channels=2), sampler=dict(condition_on_source=True),
             ctx_loss=dict(_delete_=True, type='PriorWeightedL1Loss', loss_weight=10.0))
train_dataloader = dict(dataset=dict(dataset=dict(prior=dict(type='ThresholdPrior',
                                                             theta=0.9))))
