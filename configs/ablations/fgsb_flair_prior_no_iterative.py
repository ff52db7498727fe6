# Ablation "w/o iterative process": one step (NFE 1), L1 + PatchNCE only:
# no adversary, no MI estimator.
_base_ = ['../fgsb/fgsb_phantom_flair_prior_2subj.py']
model = dict(sampler=dict(num_steps=1), discriminator=None, gan_loss=None,
             ssl_loss=None, mi_estimator=None, sb_loss=None)
optim_wrapper = dict(discriminator=None, mi_estimator=None)
