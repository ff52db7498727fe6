# SynDiff (25), IXI T1w -> T2w at paper scale: the paper's diffusion
# baseline (paired, no CycleGAN parts) trained on all 25 training subjects,
# 256x256, on the schedule of the other paper-scale configs (200 epochs).
# Needs a GPU; prepare the data first (the error message gives the command).
_base_ = [
    '../_base_/models/syndiff.py',
    '../_base_/datasets/ixi_t1_t2.py',
    '../_base_/schedules/paper_200e.py',
    '../_base_/default_runtime.py',
]
train_dataloader = dict(dataset=dict(dataset=dict(num_subjects=25)))
