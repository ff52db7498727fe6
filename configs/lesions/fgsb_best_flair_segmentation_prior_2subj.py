# As fgsb_best_flair_lesion_prior_2subj.py, with the ground-truth lesion mask
# as the prior (SegmentationPrior, grown by the same soft 2-pixel margin)
# instead of the FLAIR threshold: on the phantom's training subjects the
# threshold map (theta 0.9) covers 0 % and 21 % of the lesion voxels
# (docs/lesions.md). Training-time only, as every prior: inference reads T1w.
_base_ = ['./fgsb_best_flair_lesion_prior_2subj.py']
train_dataloader = dict(dataset=dict(dataset=dict(prior=dict(
    prior=dict(_delete_=True, type='SegmentationPrior')))))
