# T1w -> T2w on the embedded phantom (generated and cached on first use),
# at a CPU size: 128x128 slices, data loading in the main process. Phantom
# version 1 (one anatomy, one protocol), pinned so that the quick start and
# the v1 study (docs/results.md) stay what they measured; phantom_v2_t1_t2.py
# is the multi-site version 2 (docs/phantom.md).
_base_ = ['./prepared_slices.py']
data = dict(type='PhantomSliceDataset', data_root='data/phantom_1.5T_seed0',
            phantom=dict(num_subjects=12, seed=0, field_strength=1.5, num_test=4, version=1),
            source='t1', target='t2', size=128)
train_dataloader = dict(num_workers=0, persistent_workers=False,
                        dataset=dict(dataset=data))
val_dataloader = dict(num_workers=0, persistent_workers=False, dataset=data)
test_dataloader = val_dataloader
