# FGSB best FLAIR (study v2) with every lesion component of the toolbox
# (docs/lesions.md): the context loss over the map's area; the paper's
# threshold prior (theta 0.9) grown by a soft 2-pixel margin (DilatedPrior);
# PatchNCE draws exactly half of its patches inside the map and the rest
# outside; half of the training draws are slices with ground-truth lesions.
_base_ = ['../study_v2/fgsb_best_flair_2subj.py']
model = dict(ctx_loss=dict(_delete_=True, type='AreaNormalisedPriorL1Loss', loss_weight=10.0),
             prior_patch_rest='outside')
train_dataloader = dict(
    sampler=dict(_delete_=True, type='LesionSliceSampler', lesion_slice_fraction=0.5),
    dataset=dict(dataset=dict(prior=dict(
        _delete_=True, type='DilatedPrior', prior=dict(type='ThresholdPrior', theta=0.9),
        radius=2, soft=True))))
