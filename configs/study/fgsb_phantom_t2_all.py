# Study "FGSB (all)": FGSB, T1w -> T2w, every training subject of the phantom
# (8 of the 12), for as many iterations as the 2-subject run (1 epoch); the
# model of configs/fgsb/fgsb_phantom_2subj.py.
_base_ = [
    '../_base_/models/fgsb_resnet_cpu.py',
    '../_base_/datasets/phantom_t1_t2.py',
    '../_base_/schedules/cpu_short_all_subjects.py',
    '../_base_/default_runtime.py',
]
train_dataloader = dict(dataset=dict(dataset=dict(num_subjects=None)))
