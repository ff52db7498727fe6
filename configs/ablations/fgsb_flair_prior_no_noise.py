# Ablation "w/o noise": the bridge steps without the stochastic term (eps = 0).
_base_ = ['../fgsb/fgsb_phantom_flair_prior_2subj.py']
model = dict(sampler=dict(use_noise=False))
