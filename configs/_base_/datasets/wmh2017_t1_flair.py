# MICCAI 2017 WMH, T1w -> FLAIR (paper 4.1.2: 3 T, 10 training and 10 test
# subjects); the lesion mask is the WMH label (1) only.
_base_ = ['./prepared_slices.py']
data_root = 'data/wmh2017_prepared'
prepare_command = ('python tools/prepare_data.py wmh2017 --root data/WMH '
                   '--out data/wmh2017_prepared --max-subjects 20 --test-subjects 10')
data = dict(data_root=data_root, source='t1', target='flair',
            missing_root_hint=f'prepare it first: {prepare_command}')
train_dataloader = dict(dataset=dict(dataset=data))
val_dataloader = dict(dataset=data)
test_dataloader = val_dataloader
