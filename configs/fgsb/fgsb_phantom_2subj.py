# FGSB, T1w -> T2w, 2 phantom subjects, 128x128, CPU size: the quick start.
_base_ = [
    '../_base_/models/fgsb_resnet.py',
    '../_base_/datasets/phantom_t1_t2.py',
    '../_base_/schedules/cpu_short.py',
    '../_base_/default_runtime.py',
]
# At this short budget (4 epochs, not the paper's 200) two settings, chosen on
# validation subjects carved from the training split (docs/results.md,
# "Tuning"), narrow the gap between the guided training chain and the
# unguided inference chain: step 0 is drawn 4 times as often as each other
# step, and the target's guidance fades to 0 over the first half of training.
model = dict(generator=dict(ngf=16), discriminator=dict(ndf=16),
             mi_estimator=dict(ndf=16), sampler=dict(first_step_weight=4.0),
             guidance_anneal=(0.0, 0.5))
