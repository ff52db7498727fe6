# Ablation "w/o identity": no identity path (L_idt).
_base_ = ['../fgsb/fgsb_phantom_flair_prior_2subj.py']
model = dict(identity=False)
