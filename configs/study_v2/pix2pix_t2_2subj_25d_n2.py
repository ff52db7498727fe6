# Study v2, 2.5D input (docs/volumes.md): Pix2Pix (ResNet-9) of
# pix2pix_t2_2subj.py reading each T1w slice with two neighbour slices on
# each side (context_slices=2: 5 source channels, centre first); the
# PatchGAN reads the 5 source channels with the image (6 channels).
_base_ = ['./pix2pix_t2_2subj_25d_n1.py']
context = dict(context_slices=2)
model = dict(generator=dict(in_channels=5), discriminator=dict(in_channels=6))
train_dataloader = dict(dataset=dict(dataset=context))
val_dataloader = dict(dataset=context)
test_dataloader = dict(dataset=context)
