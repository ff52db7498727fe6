# T1w -> T2w on phantom version 2 (docs/phantom.md): 12 subjects over the three
# IXI-like sites (Guy's Philips 1.5 T, Hammersmith Philips 3 T, IOP GE 1.5 T),
# brain-extracted, with per-subject relaxation times, age-driven atrophy and
# lesion load; same CPU size and loaders as phantom_t1_t2.py.
_base_ = ['./phantom_t1_t2.py']
data = dict(data_root='data/phantom_v2_ixi_seed0',
            phantom=dict(_delete_=True, num_subjects=12, seed=0, num_test=4, version=2,
                         sites=['guys', 'hh', 'iop']))
train_dataloader = dict(dataset=dict(dataset=data))
val_dataloader = dict(dataset=data)
test_dataloader = val_dataloader
