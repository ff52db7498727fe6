# Pix2Pix (2) FLAIR (study v2) given the prior terms of
# fgsb_best_flair_lesion_prior_2subj.py that a one-step model can take: the
# area-normalised context loss on the dilated threshold prior and the
# lesion-slice oversampling (Pix2Pix has no PatchNCE). Beside the FGSB row it
# tells the prior's gain from the bridge's (docs/lesions.md).
_base_ = ['../study_v2/pix2pix_flair_2subj.py']
model = dict(ctx_loss=dict(type='AreaNormalisedPriorL1Loss', loss_weight=10.0))
train_dataloader = dict(
    sampler=dict(_delete_=True, type='LesionSliceSampler', lesion_slice_fraction=0.5),
    dataset=dict(dataset=dict(prior=dict(
        type='DilatedPrior', prior=dict(type='ThresholdPrior', theta=0.9), radius=2,
        soft=True))))
