# UNSB (Kim et al., ICLR 2024) on the FGSB phantom setting: the same loop with
# no target guidance, no paired L1, and a plain time-conditional PatchGAN.
# UNSB's own uniform step draw, whatever the FGSB phantom config tunes.
_base_ = ['../fgsb/fgsb_phantom_2subj.py']
model = dict(
    type='UNSB',
    sampler=dict(guidance=None, first_step_weight=1.0),
    rec_loss=None,
    ssl_loss=None,
    guidance_anneal=None,
    discriminator=dict(_delete_=True, type='PatchDiscriminator', in_channels=1,
                       ndf=16, n_layers=3),
)
