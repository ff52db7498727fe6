# SynDiff, T1w -> T2w, 2 phantom subjects, 128x128, CPU size: the quick
# start's data and schedule (configs/fgsb/fgsb_phantom_2subj.py) with
# SynDiff's networks at ngf/ndf 16 (syndiff_cpu.py).
_base_ = [
    '../_base_/models/syndiff_cpu.py',
    '../_base_/datasets/phantom_t1_t2.py',
    '../_base_/schedules/cpu_short.py',
    '../_base_/default_runtime.py',
]
