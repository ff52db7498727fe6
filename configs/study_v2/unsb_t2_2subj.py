# Study v2: UNSB (Kim et al., ICLR 2024), T1w -> T2w, 2 training subjects of
# phantom v2: FGSB as docs/method.md writes it without the target's guidance,
# the paired L1 and the self-supervised discriminator, with a plain
# time-conditional PatchGAN and UNSB's uniform step draw (the unpaired
# bridge the paper builds on); the study's schedule and stopping rule.
_base_ = ['./fgsb_method_t2_2subj.py']
model = dict(
    type='UNSB',
    sampler=dict(guidance=None, first_step_weight=1.0),
    rec_loss=None,
    ssl_loss=None,
    guidance_anneal=None,
    discriminator=dict(_delete_=True, type='PatchDiscriminator', in_channels=1,
                       ndf=16, n_layers=3),
)
