# Ablation "w/o MI": no MI estimator and no SB loss.
_base_ = ['../fgsb/fgsb_phantom_flair_prior_2subj.py']
model = dict(mi_estimator=None, sb_loss=None)
optim_wrapper = dict(mi_estimator=None)
