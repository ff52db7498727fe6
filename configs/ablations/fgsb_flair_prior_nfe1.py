# NFE ablation: 1 bridge step(s) in training and inference.
_base_ = ['../fgsb/fgsb_phantom_flair_prior_2subj.py']
model = dict(sampler=dict(num_steps=1))
