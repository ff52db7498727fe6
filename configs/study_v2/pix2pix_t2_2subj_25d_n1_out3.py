# Study v2, 2.5D input with multi-slice output (docs/volumes.md): the Pix2Pix
# of pix2pix_t2_2subj_25d_n1.py (one source neighbour a side) predicting its
# T2w slice and one neighbour a side (target_context_slices=1: 3 output
# channels, centre first). The L1 and the PatchGAN read the 3-slice stack
# (3 source + 3 image channels); a volume averages each slice's three
# predictions (slice_context.overlap_average), so neighbouring outputs are
# trained to agree and agree by construction at synthesis.
_base_ = ['./pix2pix_t2_2subj_25d_n1.py']
context = dict(context_slices=1, target_context_slices=1)
model = dict(generator=dict(out_channels=3), discriminator=dict(in_channels=6))
train_dataloader = dict(dataset=dict(dataset=context))
val_dataloader = dict(dataset=context)
test_dataloader = dict(dataset=context)
