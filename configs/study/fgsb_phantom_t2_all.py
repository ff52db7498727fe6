# Study "FGSB (all)": FGSB, T1w -> T2w, every training subject of the phantom
# (8 of the 12; 4 epochs as for 2 subjects, so 4x the iterations).
_base_ = ['../fgsb/fgsb_phantom_2subj.py']
train_dataloader = dict(dataset=dict(dataset=dict(num_subjects=None)))
