# Pix2Pix, T1w -> T2w, 2 phantom subjects, 128x128, CPU size (minutes on 2 cores).
_base_ = [
    '../_base_/models/pix2pix_unet.py',
    '../_base_/datasets/phantom_t1_t2.py',
    '../_base_/schedules/cpu_short.py',
    '../_base_/default_runtime.py',
]
model = dict(generator=dict(num_downs=7, ngf=32), discriminator=dict(ndf=32))
