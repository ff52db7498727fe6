# FGSB (2), IXI T1w -> T2w at paper scale (paper 4.1.1, Table 1): 256x256,
# ngf 64, NFE 5, tau 0.01, 200 epochs, batch size 1. Needs a GPU; prepare the
# data first (the error message gives the command, see docs/data.md).
_base_ = [
    '../_base_/models/fgsb_resnet.py',
    '../_base_/datasets/ixi_t1_t2.py',
    '../_base_/schedules/paper_200e.py',
    '../_base_/default_runtime.py',
]
