# Multi-slice output at near-native in-plane size: the model of
# pix2pix_t2_2subj_25d_n1_out3.py on the 236-px slices of
# pix2pix_t2_2subj_236px.py (docs/volumes.md, "Network size").
_base_ = ['./pix2pix_t2_2subj_25d_n1_out3.py']
size = dict(size=236)
train_dataloader = dict(dataset=dict(dataset=size))
val_dataloader = dict(dataset=size)
test_dataloader = dict(dataset=size)
