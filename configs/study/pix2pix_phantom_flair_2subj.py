# Study "Pix2Pix (2)" on T1w -> FLAIR with white-matter lesions: the paired
# baseline of the lesion experiments (ResNet-9, as the paper's; no prior:
# Pix2Pix has no use for one). The same data (2 training subjects with
# lesions, same test split) as configs/fgsb/fgsb_phantom_flair_prior_2subj.py.
_base_ = [
    '../_base_/models/pix2pix_resnet_cpu.py',
    '../_base_/datasets/phantom_t1_flair_lesions.py',
    '../_base_/schedules/cpu_short.py',
    '../_base_/default_runtime.py',
]
# PSNR/SSIM/NRMSE plus lesion Dice and recall (fgsb/evaluation/lesion_metric.py),
# with the segmentation rule study v1 (docs/results.md) was scored with.
test_evaluator = dict(type='LesionPreservationMetric', segmentation='phantom_v1')
