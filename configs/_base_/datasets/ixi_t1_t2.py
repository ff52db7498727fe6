# IXI, T1w -> T2w (paper 4.1.1: 1.5 T, 25 training and 10 test subjects).
data_root = 'data/ixi_prepared'
prepare_command = ('python tools/prepare_data.py ixi --root data/IXI --out data/ixi_prepared '
                   '--sites Guys IOP --modalities t1 t2 --max-subjects 35 --test-subjects 10')
source, target = 't1', 't2'
train_dataset = dict(
    type='PairedSliceDataset', data_root=data_root, source=source, target=target,
    split='train', num_subjects=2, size=256, flip_prob=0.5,
    missing_root_hint=f'prepare it first: {prepare_command}')
val_dataset = dict(
    type='PairedSliceDataset', data_root=data_root, source=source, target=target,
    split='test', size=256, missing_root_hint=f'prepare it first: {prepare_command}')
test_dataset = val_dataset
