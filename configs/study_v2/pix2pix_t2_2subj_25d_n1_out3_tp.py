# Study v2, multi-slice output with a through-plane loss (docs/volumes.md):
# pix2pix_t2_2subj_25d_n1_out3.py plus an L1 on the slice-to-slice steps of
# the predicted 3-slice stack against the real one (ThroughPlaneL1Loss), at
# the weight of the L1 on the slices themselves.
_base_ = ['./pix2pix_t2_2subj_25d_n1_out3.py']
model = dict(through_plane_loss=dict(type='ThroughPlaneL1Loss', loss_weight=100.0))
