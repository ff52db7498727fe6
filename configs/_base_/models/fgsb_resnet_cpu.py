# FGSB at the phantom's CPU size: the paper-scale networks at ngf/ndf 16.
# At this short budget (4 epochs, not the paper's 200) two settings, chosen on
# validation subjects carved from the training split (docs/results.md,
# "Why FGSB (2) trails Pix2Pix (2)"), narrow the gap between the guided
# training chain and the unguided inference chain: step 0 is drawn 4 times
# as often as each other step, and the target's guidance fades to 0 over the
# first half of training.
_base_ = ['./fgsb_resnet.py']
model = dict(generator=dict(ngf=16), discriminator=dict(ndf=16),
             mi_estimator=dict(ndf=16), sampler=dict(first_step_weight=4.0),
             guidance_anneal=(0.0, 0.5))
