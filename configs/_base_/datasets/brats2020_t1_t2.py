# BraTS 2020, T1w -> T2w (paper 4.1.3: 25 low-grade gliomas, 16 training and 9
# test subjects); lesion masks from the tumour segmentation.
data_root = 'data/brats2020_prepared'
prepare_command = ('python tools/prepare_data.py brats2020 '
                   '--root data/BraTS2020/MICCAI_BraTS2020_TrainingData '
                   '--out data/brats2020_prepared --grade LGG --max-subjects 25 '
                   '--test-subjects 9')
source, target = 't1', 't2'
train_dataset = dict(
    type='PairedSliceDataset', data_root=data_root, source=source, target=target,
    split='train', num_subjects=2, size=256, flip_prob=0.5,
    missing_root_hint=f'prepare it first: {prepare_command}')
val_dataset = dict(
    type='PairedSliceDataset', data_root=data_root, source=source, target=target,
    split='test', size=256, missing_root_hint=f'prepare it first: {prepare_command}')
test_dataset = val_dataset
