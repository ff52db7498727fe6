# MICCAI 2017 WMH, T1w -> FLAIR (paper 4.1.2: 3 T, 10 training and 10 test
# subjects); the lesion mask is the WMH label (1) only.
data_root = 'data/wmh2017_prepared'
prepare_command = ('python tools/prepare_data.py wmh2017 --root data/WMH '
                   '--out data/wmh2017_prepared --max-subjects 20 --test-subjects 10')
source, target = 't1', 'flair'
train_dataset = dict(
    type='PairedSliceDataset', data_root=data_root, source=source, target=target,
    split='train', num_subjects=2, size=256, flip_prob=0.5,
    missing_root_hint=f'prepare it first: {prepare_command}')
val_dataset = dict(
    type='PairedSliceDataset', data_root=data_root, source=source, target=target,
    split='test', size=256, missing_root_hint=f'prepare it first: {prepare_command}')
test_dataset = val_dataset
