# Study v2 at near-native in-plane size (docs/volumes.md, "Network size"):
# pix2pix_t2_2subj.py with 236-px slices instead of 128. Phantom v2's
# padded in-plane side is 233 voxels, so the slices go through the network
# almost unresampled (236: the nearest side at or above 233 that the
# ResNet's two 2x down- and up-samplings take); at 128 px the resampling
# alone sets a floor under the native through-plane error
# (tools/noise_floor.py --through-network).
_base_ = ['./pix2pix_t2_2subj.py']
size = dict(size=236)
train_dataloader = dict(dataset=dict(dataset=size))
val_dataloader = dict(dataset=size)
test_dataloader = dict(dataset=size)
