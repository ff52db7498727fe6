# Study v2: the toolbox's best FGSB on T1w -> FLAIR without a prior (no
# context-preserving loss, uniform PatchNCE patches): beside
# fgsb_best_flair_2subj.py (the paper's prior) it says what the prior adds.
_base_ = ['./fgsb_best_flair_2subj.py']
model = dict(ctx_loss=None)
train_dataloader = dict(dataset=dict(dataset=dict(prior=None)))
