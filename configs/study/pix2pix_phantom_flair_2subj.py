# Study "Pix2Pix (2)" on T1w -> FLAIR with white-matter lesions: the paired
# baseline of the lesion experiments (ResNet-9, as the paper's; no prior:
# Pix2Pix has no use for one). The same 2 training subjects (both with
# lesions) and test split as configs/fgsb/fgsb_phantom_flair_prior_2subj.py.
_base_ = ['../pix2pix/pix2pix_resnet_phantom_2subj.py']
target = 'flair'
lesion_subjects = ['phantom_002', 'phantom_003']
train_dataloader = dict(dataset=dict(dataset=dict(target=target, subjects=lesion_subjects)))
val_dataloader = dict(dataset=dict(target=target))
test_dataloader = val_dataloader
# PSNR/SSIM/NRMSE plus lesion Dice and recall (fgsb/evaluation/lesion_metric.py).
test_evaluator = dict(type='LesionPreservationMetric')
