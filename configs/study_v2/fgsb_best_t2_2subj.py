# Study v2: the toolbox's best FGSB, T1w -> T2w, 2 training subjects of
# phantom v2: every bridge step reads the source (condition_on_source), step 0
# drawn 4 times as often, guidance faded over the first half of training
# (docs/results_v2.md says how it was chosen, on validation subjects only).
_base_ = [
    '../_base_/models/fgsb_resnet_cpu.py',
    '../_base_/datasets/phantom_v2_study_t1_t2.py',
    '../_base_/schedules/study_v2.py',
]
model = dict(generator=dict(in_channels=2), sampler=dict(condition_on_source=True))
