# FGSB (2), T1w -> T2w, with every bridge step conditioned on the source:
# the generator reads cat(X_j, x0) instead of X_j alone (two input channels).
# Not the paper (docs/method.md §10): on the phantom the half-way state X_1 = 0.5 x0 + 0.5 Yhat_0
# averages two nearly inverted contrasts and holds little anatomy
# (docs/results.md, "Why FGSB (2) trails Pix2Pix (2)"); the source channel
# keeps the anatomy in view at every step.
_base_ = ['../fgsb/fgsb_phantom_2subj.py']
model = dict(generator=dict(in_channels=2), sampler=dict(condition_on_source=True))
