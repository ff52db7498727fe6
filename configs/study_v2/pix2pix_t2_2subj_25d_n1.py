# Study v2, 2.5D input (docs/volumes.md): Pix2Pix (ResNet-9) of
# pix2pix_t2_2subj.py reading each T1w slice with one neighbour slice on each
# side (context_slices=1: 3 source channels, centre first); the PatchGAN
# reads the 3 source channels with the image (4 channels).
_base_ = ['./pix2pix_t2_2subj.py']
context = dict(context_slices=1)
model = dict(generator=dict(in_channels=3), discriminator=dict(in_channels=4))
train_dataloader = dict(dataset=dict(dataset=context))
val_dataloader = dict(dataset=context)
test_dataloader = dict(dataset=context)
