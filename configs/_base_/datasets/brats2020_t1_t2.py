# BraTS 2020, T1w -> T2w (paper 4.1.3: 25 low-grade gliomas, 16 training and 9
# test subjects); lesion masks from the tumour segmentation.
_base_ = ['./prepared_slices.py']
data_root = 'data/brats2020_prepared'
prepare_command = ('python tools/prepare_data.py brats2020 '
                   '--root data/BraTS2020/MICCAI_BraTS2020_TrainingData '
                   '--out data/brats2020_prepared --grade LGG --max-subjects 25 '
                   '--test-subjects 9')
data = dict(data_root=data_root, source='t1', target='t2',
            missing_root_hint=f'prepare it first: {prepare_command}')
train_dataloader = dict(dataset=dict(dataset=data))
val_dataloader = dict(dataset=data)
test_dataloader = val_dataloader
