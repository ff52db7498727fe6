import os

import numpy as np
import pytest
import torch

# The suite runs on 2 shared cores: one thread per test process is fastest.
torch.set_num_threads(1)
os.environ.setdefault('OMP_NUM_THREADS', '1')


@pytest.fixture(autouse=True)
def _seed_everything():
    torch.manual_seed(0)
    np.random.seed(0)
    yield


def write_prepared_root(root, num_subjects=4, num_test=2, shape=(32, 32, 8), seed=0):
    """A tiny prepared root: an ellipsoid 'brain' whose t2 is an inverted t1
    (so a model can learn it), a lesion blob, brain masks and splits.json."""
    import json
    from pathlib import Path

    import nibabel as nib

    root = Path(root)
    rng = np.random.default_rng(seed)
    grid = np.stack(np.meshgrid(*[np.linspace(-1, 1, n) for n in shape], indexing='ij'))
    ids = [f'sub_{i:02d}' for i in range(num_subjects)]
    for i, subject in enumerate(ids):
        folder = root / subject
        folder.mkdir(parents=True)
        radius = np.sqrt((grid[0] / 0.8) ** 2 + (grid[1] / 0.7) ** 2 + (grid[2] / 1.1) ** 2)
        brain = radius < 1.0
        texture = np.sin(3 * grid[0] + i) * np.cos(2 * grid[1]) + rng.normal(0, 0.05, shape)
        t1 = np.where(brain, 1.0 + 0.4 * texture, 0.0).astype(np.float32)
        t2 = np.where(brain, 2.0 - 0.4 * texture, 0.0).astype(np.float32)
        lesion = brain & (((grid[0] - 0.2) ** 2 + grid[1] ** 2) < 0.04)
        flair = np.where(lesion, 3.0, t2 * 0.8).astype(np.float32)
        affine = np.diag([1.0, 1.0, 1.0, 1.0])
        for name, data in (('t1', t1), ('t2', t2), ('flair', flair)):
            nib.save(nib.Nifti1Image(data, affine), str(folder / f'{name}.nii.gz'))
        for name, mask in (('brain_mask', brain), ('lesion_mask', lesion)):
            nib.save(nib.Nifti1Image(mask.astype(np.uint8), affine),
                     str(folder / f'{name}.nii.gz'))
    splits = {'train': ids[:num_subjects - num_test], 'test': ids[num_subjects - num_test:]}
    (root / 'splits.json').write_text(json.dumps(splits))
    return root


# A phantom small enough for tests (49x58x47 voxels a subject).
# version 1: the expectations of these tests were set on it (version 2: test_phantom_v2.py)
TINY_PHANTOM = dict(num_subjects=4, num_test=2, downsample=4, seed=0, version=1)


@pytest.fixture(scope='session')
def tiny_phantom(tmp_path_factory):
    from fgsb.datasets.phantom import ensure_phantom

    return ensure_phantom(tmp_path_factory.mktemp('phantom') / 'root', progress=False,
                          **TINY_PHANTOM)


@pytest.fixture
def prepared_root(tmp_path):
    return write_prepared_root(tmp_path / 'prepared')


def dataset_configs(cfg):
    """Every slice-dataset dict of a config's loaders (through wrappers)."""
    found = []
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dataset = cfg.get(loader, {}).get('dataset')
        while dataset is not None and 'dataset' in dataset:
            dataset = dataset['dataset']
        if dataset is not None:
            found.append(dataset)
    return found


# SynDiff's networks at tiny size: two U-Net levels, three discriminator layers
TINY_SYNDIFF_NETWORKS = dict(
    generator=dict(ngf=8, ch_mult=[1, 2], num_res_blocks=1, attention_levels=[1], z_emb_dim=16),
    discriminator=dict(ndf=8, n_layers=3, t_emb_dim=16))


def shrink_model(model):
    """Tiny widths so that a paper-scale model config trains in seconds."""
    if model['type'] == 'SynDiff':
        for name, sizes in TINY_SYNDIFF_NETWORKS.items():
            model[name].update(sizes)
    elif model['type'] == 'Pix2Pix':
        depth = ('num_downs' if model['generator']['type'] == 'UnetGenerator'
                 else 'n_blocks')
        model['generator'].update({'ngf': 8, depth: 5 if depth == 'num_downs' else 2})
        model['discriminator'].update(ndf=8)
    else:
        model['generator'].update(ngf=8, n_blocks=2)
        for name in ('discriminator', 'mi_estimator'):
            if model.get(name) is not None:
                model[name].update(ndf=8)
        model['num_patches'] = 16
        model['nce_layers'] = [0, 4, 8, 10, 11]  # the 2-block generator's encoder
        if model.get('feature_mlp') is not None:
            model['feature_mlp'].update(out_channels=16)
    return model


def tiny_config(config_path, data_root, work_dir, image_size=32, max_epochs=1):
    """Load a config and point it at a tiny prepared root and tiny networks."""
    from mmengine.config import Config

    cfg = Config.fromfile(str(config_path))
    for dataset in dataset_configs(cfg):
        dataset['type'] = 'PairedSliceDataset'
        dataset.pop('phantom', None)
        dataset.update(data_root=str(data_root), size=image_size, num_subjects=None,
                       val_subjects=0)
    shrink_model(cfg.model)
    cfg.work_dir = str(work_dir)
    cfg.train_cfg.max_epochs = max_epochs
    cfg.train_cfg.val_interval = max_epochs
    cfg.default_hooks.logger.interval = 1
    cfg.custom_hooks = [dict(type='ImageGridHook', interval=2, max_images=2)]
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader]['num_workers'] = 0
    cfg.param_scheduler = [dict(type='LinearLR', start_factor=1.0, end_factor=0.5,
                                by_epoch=True, begin=0, end=max_epochs + 2)]
    return cfg


def tiny_iteration_config(config_path, data_root, work_dir, max_iters, max_keep_ckpts=3):
    """``tiny_config`` trained for ``max_iters`` iterations, a checkpoint
    after each, no validation, no image grids, a constant learning rate."""
    cfg = tiny_config(config_path, data_root, work_dir)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters,
                         val_begin=max_iters + 1)
    cfg.default_hooks.checkpoint.update(by_epoch=False, interval=1,
                                        max_keep_ckpts=max_keep_ckpts)
    cfg.custom_hooks = []
    cfg.param_scheduler = []
    return cfg


def run_tool(monkeypatch, tool, *args):
    """The exit code (or error message) of ``tools/<tool>.py args``, run as a
    user would; the tool must exit."""
    import runpy
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / 'tools' / f'{tool}.py'
    monkeypatch.setattr(sys, 'argv', [f'tools/{tool}.py', *map(str, args)])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(script), run_name='__main__')
    return exit_info.value.code
