# Study v2, 2.5D input (docs/volumes.md): the best FGSB of fgsb_best_t2_2subj.py
# with one neighbour T1w slice on each side (context_slices=1). The bridge
# runs on the centre slice; the generator reads the state, the source and the
# 2 neighbours (4 channels); D, the MI estimator and PatchNCE stay 1-channel.
_base_ = ['./fgsb_best_t2_2subj.py']
context = dict(context_slices=1)
model = dict(generator=dict(in_channels=4))
train_dataloader = dict(dataset=dict(dataset=context))
val_dataloader = dict(dataset=context)
test_dataloader = dict(dataset=context)
