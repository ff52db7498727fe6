# IXI, T1w -> T2w (paper 4.1.1: 1.5 T, 25 training and 10 test subjects).
_base_ = ['./prepared_slices.py']
data_root = 'data/ixi_prepared'
prepare_command = ('python tools/prepare_data.py ixi --root data/IXI --out data/ixi_prepared '
                   '--sites Guys IOP --modalities t1 t2 --max-subjects 35 --test-subjects 10')
data = dict(data_root=data_root, source='t1', target='t2',
            missing_root_hint=f'prepare it first: {prepare_command}')
train_dataloader = dict(dataset=dict(dataset=data))
val_dataloader = dict(dataset=data)
test_dataloader = val_dataloader
