# FGSB (10), IXI T1w -> T2w at paper scale.
_base_ = ['./fgsb_ixi_2subj.py']
train_dataloader = dict(dataset=dict(dataset=dict(num_subjects=10)))
