# Study v2: pix2pix_t2_2subj.py (Pix2Pix, ResNet-9) on the `--head` phantom: the
# same subjects, validation carve-out and training choice, with the
# extra-cerebral tissue kept. It tests the prediction that FGSB as written
# fares better when the head is there (docs/results_v2.md, "Brain-extracted
# and head").
_base_ = ['./pix2pix_t2_2subj.py', '../_base_/datasets/phantom_v2_head_root.py']
train_dataloader = dict(dataset=dict(dataset={{_base_.head_data}}))
val_dataloader = dict(dataset={{_base_.head_data}})
test_dataloader = dict(dataset={{_base_.head_data}})
