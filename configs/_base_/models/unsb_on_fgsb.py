# UNSB (Kim et al., ICLR 2024) as an FGSB config turned back into the unpaired
# bridge it builds on: no target guidance, no paired L1, no self-supervised
# discriminator, a plain time-conditional PatchGAN and UNSB's own uniform step
# draw, whatever the FGSB config tunes. A UNSB config sets
# `model = {{_base_.unsb_model}}` over the FGSB config it starts from.
unsb_model = dict(
    type='UNSB',
    sampler=dict(guidance=None, first_step_weight=1.0),
    rec_loss=None,
    ssl_loss=None,
    guidance_anneal=None,
    discriminator=dict(_delete_=True, type='PatchDiscriminator', in_channels=1,
                       ndf=16, n_layers=3),
)
