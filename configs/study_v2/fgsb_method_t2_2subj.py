# Study v2: FGSB as docs/method.md writes it (the paper), T1w -> T2w, 2
# training subjects of phantom v2: uniform step draw, linear guidance for the
# whole training, the generator reads the bridge state alone; CPU widths.
_base_ = [
    '../_base_/models/fgsb_resnet.py',
    '../_base_/datasets/phantom_v2_study_t1_t2.py',
    '../_base_/schedules/study_v2.py',
]
model = dict(generator=dict(ngf=16), discriminator=dict(ndf=16), mi_estimator=dict(ndf=16))
