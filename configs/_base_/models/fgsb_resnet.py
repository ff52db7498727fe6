# FGSB at paper scale (docs/method.md §7): ResNet-9 generator (ngf 64), 70x70
# time-conditional PatchGAN with self-supervised decoders, MI estimator,
# PatchNCE projector; NFE 5, tau 0.01, linear guidance schedule.
# Time-conditional networks take num_timesteps from the sampler.
adam = dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))
model = dict(
    type='FGSB',
    generator=dict(type='TimeConditionalResnetGenerator', in_channels=1,
                   out_channels=1, ngf=64, n_blocks=9),
    discriminator=dict(type='SelfSupervisedDiscriminator', in_channels=1, ndf=64,
                       n_layers=3),
    mi_estimator=dict(type='MIEstimator', in_channels=4, ndf=64, n_layers=3),
    feature_mlp=dict(type='PatchSampleMLP', out_channels=256),
    sampler=dict(type='SchrodingerBridgeSampler', num_steps=5, tau=0.01,
                 use_noise=True, guidance=dict(type='LinearGuidance')),
    gan_loss=dict(type='GANLoss', gan_type='lsgan', loss_weight=1.0),
    rec_loss=dict(type='L1Loss', loss_weight=100.0),
    nce_loss=dict(type='PatchNCELoss', temperature=0.07, loss_weight=1.0),
    sb_loss=dict(type='SchrodingerBridgeLoss', loss_weight=1.0),
    estimator_loss=dict(type='MIEstimatorLoss', loss_weight=1.0),
    ctx_loss=None,
    ssl_loss=dict(type='SSLReconstructionLoss', loss_weight=1.0),
    identity=True,
    nce_layers=(0, 4, 8, 12, 16),
    num_patches=256,
    prior_fraction=0.5,
)
optim_wrapper = dict(
    constructor='MultiOptimWrapperConstructor',
    generator=dict(optimizer=adam),
    discriminator=dict(optimizer=adam),
    mi_estimator=dict(optimizer=adam),
    feature_mlp=dict(optimizer=adam),
)
