# Ablation "w/o SSL-D": a plain time-conditional PatchGAN, no decoders.
_base_ = ['../fgsb/fgsb_phantom_flair_prior_2subj.py']
model = dict(
    discriminator=dict(_delete_=True, type='PatchDiscriminator', in_channels=1,
                       ndf=16, n_layers=3),
    ssl_loss=None)
