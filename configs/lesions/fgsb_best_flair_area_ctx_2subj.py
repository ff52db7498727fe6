# FGSB best FLAIR (study v2) with one change: the context-preserving loss is the
# mean error over the prior map's area (AreaNormalisedPriorL1Loss), not over the
# whole slice, so a lesion of 0.1 % of the slice is not weighted a thousandth
# (docs/lesions.md). Prior, patch sampling and data as in the base.
_base_ = ['../study_v2/fgsb_best_flair_2subj.py']
model = dict(ctx_loss=dict(_delete_=True, type='AreaNormalisedPriorL1Loss', loss_weight=10.0))
