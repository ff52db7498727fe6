# Study v2: UNSB (Kim et al., ICLR 2024), T1w -> T2w, 2 training subjects of
# phantom v2: FGSB as docs/method.md writes it without the target's guidance,
# the paired L1 and the self-supervised discriminator, with a plain
# time-conditional PatchGAN and UNSB's uniform step draw (the unpaired
# bridge the paper builds on); the study's schedule and stopping rule.
_base_ = ['./fgsb_method_t2_2subj.py', '../_base_/models/unsb_on_fgsb.py']
model = {{_base_.unsb_model}}
