# UNSB (Kim et al., ICLR 2024) on the FGSB phantom setting: the same loop with
# no target guidance, no paired L1, and a plain time-conditional PatchGAN.
# UNSB's own uniform step draw, whatever the FGSB phantom config tunes.
_base_ = ['../fgsb/fgsb_phantom_2subj.py', '../_base_/models/unsb_on_fgsb.py']
model = {{_base_.unsb_model}}
