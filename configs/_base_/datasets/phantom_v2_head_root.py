# The v2 study's phantom (phantom_v2_t1_t2.py's subjects) generated with
# `--head`: skull, scalp and the other extra-cerebral layers kept around the
# brain (docs/phantom.md), in its own root, generated once on first use. The
# brain mask is the brain with or without the head, so scores stay inside it.
# A *_head.py study config merges `head_data` into its three loaders.
head_data = dict(data_root='data/phantom_v2_ixi_seed0_head',
                 phantom=dict(num_subjects=12, seed=0, num_test=4, version=2,
                              sites=['guys', 'hh', 'iop'], head=True))
