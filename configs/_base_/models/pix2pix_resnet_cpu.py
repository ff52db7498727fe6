# Pix2Pix (ResNet-9) at the phantom's CPU size: the same generator width
# (ngf 16) and PatchGAN width (ndf 16) as the CPU-size FGSB, so the two
# compare at equal capacity, as the paper's Table 6 does at full size.
_base_ = ['./pix2pix_resnet.py']
model = dict(generator=dict(ngf=16), discriminator=dict(ndf=16))
