# Study v2, across sites: pix2pix_t2_2subj.py trained on 2 subjects of one site
# (Guy's, Philips 1.5 T: the seed-0 choice among the training subjects left
# there after the validation carve-out); validated on the study's validation
# subjects, tested on every test subject (the per-site test rows are
# pix2pix_t2_2subj_guys_test_<site>.py).
_base_ = ['./pix2pix_t2_2subj.py']
train_dataloader = dict(dataset=dict(dataset=dict(sites=['guys'])))
