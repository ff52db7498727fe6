# Pix2Pix: U-Net generator, 70x70 PatchGAN on cat(source, target), L1 x100.
adam = dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))
model = dict(
    type='Pix2Pix',
    generator=dict(type='UnetGenerator', in_channels=1, out_channels=1,
                   num_downs=8, ngf=64, norm='batch', use_dropout=True),
    discriminator=dict(type='PatchDiscriminator', in_channels=2, ndf=64,
                       n_layers=3, norm='batch'),
    gan_loss=dict(type='GANLoss', gan_type='vanilla', loss_weight=1.0),
    rec_loss=dict(type='L1Loss', loss_weight=100.0),
)
optim_wrapper = dict(
    constructor='MultiOptimWrapperConstructor',
    generator=dict(optimizer=adam),
    discriminator=dict(optimizer=adam),
)
