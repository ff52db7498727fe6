# Pix2Pix (25), IXI T1w -> T2w at paper scale: the paper's baseline trained on
# all 25 training subjects, 256x256, 200 epochs.
_base_ = [
    '../_base_/models/pix2pix_unet.py',
    '../_base_/datasets/ixi_t1_t2.py',
    '../_base_/schedules/paper_200e.py',
    '../_base_/default_runtime.py',
]
train_dataloader = dict(dataset=dict(dataset=dict(num_subjects=25)))
