# FGSB (2), T1w -> FLAIR with the threshold prior, every bridge step
# conditioned on the source (see fgsb_phantom_source_conditioned_2subj.py).
_base_ = ['../fgsb/fgsb_phantom_flair_prior_2subj.py']
model = dict(generator=dict(in_channels=2), sampler=dict(condition_on_source=True))
