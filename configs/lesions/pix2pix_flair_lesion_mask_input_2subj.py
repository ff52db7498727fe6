# A diagnosis (docs/lesions.md, "Told where the lesions are"): Pix2Pix (2)
# FLAIR of the study, its generator and discriminator also reading the true
# lesion mask as a second source channel, at training and at test time
# (LesionMaskInputDataset). It measures whether the T1w's lesion information
# is what limits lesion preservation; a user's synthesis has no such mask.
_base_ = ['../study_v2/pix2pix_flair_2subj.py']
model = dict(generator=dict(in_channels=2), discriminator=dict(in_channels=3))
train_dataloader = dict(dataset=dict(dataset=dict(
    _delete_=True, type='LesionMaskInputDataset',
    dataset={{_base_.train_dataloader.dataset.dataset}})))
val_dataloader = dict(dataset=dict(
    _delete_=True, type='LesionMaskInputDataset', dataset={{_base_.val_dataloader.dataset}}))
test_dataloader = dict(dataset=dict(
    _delete_=True, type='LesionMaskInputDataset', dataset={{_base_.test_dataloader.dataset}}))
