# Study v2: Pix2Pix (ResNet-9), T1w -> FLAIR with lesions, 2 training subjects
# of phantom v2 (both with lesions), the study's schedule and stopping rule.
_base_ = [
    '../_base_/models/pix2pix_resnet_cpu.py',
    '../_base_/datasets/phantom_v2_study_t1_flair.py',
    '../_base_/schedules/study_v2.py',
]
