# Pix2Pix with the paper's ResNet-9 generator, T1w -> T2w, 2 phantom subjects,
# 128x128, CPU size: the same generator width (ngf 16) and PatchGAN width
# (ndf 16) as configs/fgsb/fgsb_phantom_2subj.py, so the two compare at equal
# capacity, as the paper's Table 6 does at full size.
_base_ = [
    '../_base_/models/pix2pix_resnet.py',
    '../_base_/datasets/phantom_t1_t2.py',
    '../_base_/schedules/cpu_short.py',
    '../_base_/default_runtime.py',
]
model = dict(generator=dict(ngf=16), discriminator=dict(ndf=16))
