# SynDiff at the phantom's CPU size: the paper-scale networks at ngf/ndf 16
# (the width of the CPU-size FGSB and Pix2Pix), self-attention at 16x16 for
# 128x128 input (level 3), the z mapping at width 64.
_base_ = ['./syndiff.py']
model = dict(generator=dict(ngf=16, attention_levels=(3,), z_emb_dim=64),
             discriminator=dict(ndf=16, t_emb_dim=64))
