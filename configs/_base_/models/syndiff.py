# SynDiff at paper scale (docs/method.md §12): the paired paradigm, without
# the CycleGAN parts, with the settings of SynDiff's published training
# command. NCSN++ generator (ngf 64, ch_mult 1 1 2 2 4 4, 2 residual blocks a
# level, self-attention at level 4: 16x16 for 256x256 input, z 100 mapped to
# 256), the time-conditional pair discriminator (ndf 64, 6 layers), T = 4
# steps of the variance-preserving schedule (beta 0.1 to 20), the
# non-saturating GAN loss, L1 x0.5, R1 gamma 1 every 10 iterations; Adam
# 1.6e-4 (G) and 1e-4 (D), betas (0.5, 0.9). G + D: 67.46 M parameters, the
# paper's Table 6. Time-conditional networks take num_timesteps from the sampler.
model = dict(
    type='SynDiff',
    generator=dict(type='NCSNppGenerator', in_channels=2, out_channels=1, ngf=64,
                   ch_mult=(1, 1, 2, 2, 4, 4), num_res_blocks=2, attention_levels=(4,),
                   z_dim=100, z_emb_dim=256, n_mlp=3),
    discriminator=dict(type='TimeConditionalPairDiscriminator', in_channels=2, ndf=64,
                       n_layers=6, t_emb_dim=256),
    sampler=dict(type='AdversarialDiffusionSampler', num_steps=4, beta_min=0.1,
                 beta_max=20.0),
    gan_loss=dict(type='GANLoss', gan_type='vanilla', loss_weight=1.0),
    rec_loss=dict(type='L1Loss', loss_weight=0.5),
    r1_weight=1.0,
    r1_interval=10,
)
optim_wrapper = dict(
    constructor='MultiOptimWrapperConstructor',
    generator=dict(optimizer=dict(type='Adam', lr=1.6e-4, betas=(0.5, 0.9))),
    discriminator=dict(optimizer=dict(type='Adam', lr=1e-4, betas=(0.5, 0.9))),
)
