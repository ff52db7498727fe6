# Study "Pix2Pix (all)": Pix2Pix, T1w -> T2w, every training subject of the
# phantom (8 of the 12; 4 epochs as for 2 subjects, so 4x the iterations).
_base_ = ['../pix2pix/pix2pix_phantom_2subj.py']
train_dataloader = dict(dataset=dict(dataset=dict(num_subjects=None)))
