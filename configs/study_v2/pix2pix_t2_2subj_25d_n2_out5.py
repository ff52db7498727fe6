# Study v2, multi-slice output two slices a side (docs/volumes.md): the
# Pix2Pix of pix2pix_t2_2subj_25d_n2.py (two source neighbours a side)
# predicting its T2w slice and two neighbours a side (target_context_slices=2:
# 5 output channels, centre first); the PatchGAN reads 5 + 5 channels and a
# volume averages each slice's five predictions.
_base_ = ['./pix2pix_t2_2subj_25d_n2.py']
context = dict(context_slices=2, target_context_slices=2)
model = dict(generator=dict(out_channels=5), discriminator=dict(in_channels=10))
train_dataloader = dict(dataset=dict(dataset=context))
val_dataloader = dict(dataset=context)
test_dataloader = dict(dataset=context)
