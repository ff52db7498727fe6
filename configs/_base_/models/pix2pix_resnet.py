# Pix2Pix as the paper's Table 6 counts it (14.12 M parameters at 256x256):
# the ResNet-9 generator (FGSB's generator without step and latent
# conditioning), the 70x70 PatchGAN on cat(source, target), L1 x100.
_base_ = ['./pix2pix_unet.py']
model = dict(generator=dict(_delete_=True, type='ResnetGenerator', in_channels=1,
                            out_channels=1, ngf=64, n_blocks=9, norm='instance'),
             discriminator=dict(norm='instance'))
