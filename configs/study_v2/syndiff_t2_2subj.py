# Study v2: SynDiff (the paper's diffusion baseline, paired, no CycleGAN
# parts), T1w -> T2w, 2 training subjects of phantom v2, the study's
# schedule and stopping rule; CPU widths (syndiff_cpu.py).
_base_ = [
    '../_base_/models/syndiff_cpu.py',
    '../_base_/datasets/phantom_v2_study_t1_t2.py',
    '../_base_/schedules/study_v2.py',
]
