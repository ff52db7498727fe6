# VALDO 2021 Task 2, T1w -> T2* (paper 4.1.5: 19 training and 8 test
# subjects); lesion masks from the microbleed annotations.
_base_ = ['./prepared_slices.py']
data_root = 'data/valdo_prepared'
prepare_command = ('python tools/prepare_data.py valdo --root data/VALDO/Task2 '
                   '--out data/valdo_prepared --max-subjects 27 --test-subjects 8')
data = dict(data_root=data_root, source='t1', target='t2star',
            missing_root_hint=f'prepare it first: {prepare_command}')
train_dataloader = dict(dataset=dict(dataset=data))
val_dataloader = dict(dataset=data)
test_dataloader = val_dataloader
