# Ablation "w/o prior": FGSB on T1w -> FLAIR without the lesion prior.
_base_ = ['../fgsb/fgsb_phantom_flair_prior_2subj.py']
train_dataloader = dict(dataset=dict(dataset=dict(prior=None)))
model = dict(ctx_loss=None)
