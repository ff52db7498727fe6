"""Every config in configs/ trains two iterations through tools/train.py.

Configs for real data sets run on a tiny phantom through --cfg-options, so
that a typo in any experiment file fails here, not on a user's GPU.
"""
import runpy
import sys
from pathlib import Path

import pytest
from mmengine.config import Config

from conftest import TINY_PHANTOM, TINY_SYNDIFF_NETWORKS

ROOT = Path(__file__).resolve().parents[1]
PHANTOM_MODALITIES = {'t1', 't2', 'pd', 'flair', 't2star'}
CONFIGS = sorted(p for p in (ROOT / 'configs').rglob('*.py') if '_base_' not in p.parts)


def dataset_paths(cfg):
    """Dotted paths of every slice data set of the loaders (through wrappers)."""
    paths = []
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        path, dataset = f'{loader}.dataset', cfg[loader]['dataset']
        while 'dataset' in dataset:
            path, dataset = f'{path}.dataset', dataset['dataset']
        paths.append((path, dataset))
    return paths


def tiny_options(cfg, data_root, work_dir):
    options = [f'work_dir={work_dir}', 'train_cfg._delete_=True',
               'train_cfg.type=IterBasedTrainLoop', 'train_cfg.max_iters=2',
               'train_cfg.val_interval=2', 'default_hooks.logger.interval=1',
               'default_hooks.checkpoint.by_epoch=False',
               'default_hooks.checkpoint.interval=2', 'custom_hooks=[]']
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        options += [f'{loader}.num_workers=0', f'{loader}.persistent_workers=False']
    for path, dataset in dataset_paths(cfg):
        options += [f'{path}.data_root={data_root}', f'{path}.size=32']
        for role in ('source', 'target'):
            if dataset.get(role) not in PHANTOM_MODALITIES:  # e.g. BraTS's t1ce
                options.append(f'{path}.{role}=t2')
        if dataset.get('num_subjects'):
            options.append(f'{path}.num_subjects=2')
        if dataset.get('sites'):  # the tiny version-1 root records no site
            options.append(f'{path}.sites=None')
        if dataset.get('val_subjects'):
            options.append(f'{path}.val_subjects=0')
            if dataset.get('split') == 'val':  # the tiny root has no subjects to carve
                options.append(f'{path}.split=test')
        if dataset['type'] == 'PhantomSliceDataset':
            options += [f'{path}.phantom.{k}={v}' for k, v in TINY_PHANTOM.items()]
            if dataset.phantom.get('sites'):  # a version-2 config on the version-1 tiny root
                options.append(f'{path}.phantom.sites=None')
            if dataset.phantom.get('head'):  # version 1 has no head layers
                options.append(f'{path}.phantom.head=False')
    model = cfg.model
    if model.type == 'SynDiff':
        options += [f'model.{name}.{key}={value}'.replace(' ', '')
                    for name, sizes in TINY_SYNDIFF_NETWORKS.items()
                    for key, value in sizes.items()]
    elif model.type == 'Pix2Pix':
        depth = ('model.generator.num_downs=5' if model.generator.type == 'UnetGenerator'
                 else 'model.generator.n_blocks=2')
        options += ['model.generator.ngf=8', depth, 'model.discriminator.ndf=8']
    else:
        options += ['model.generator.ngf=8', 'model.generator.n_blocks=2',
                    'model.nce_layers=[0,4,8,10,11]', 'model.num_patches=16']
        for name in ('discriminator', 'mi_estimator'):
            if model.get(name) is not None:
                options.append(f'model.{name}.ndf=8')
    return options


def train_two_iterations(config, data_root, work_dir, monkeypatch):
    """Run tools/train.py on ``config`` as a user would, shrunk to tiny size."""
    cfg = Config.fromfile(str(config))
    argv = ['tools/train.py', str(config), '--cfg-options',
            *tiny_options(cfg, data_root, work_dir)]
    monkeypatch.setattr(sys, 'argv', argv)
    runpy.run_path(str(ROOT / 'tools/train.py'), run_name='__main__')
    assert (Path(work_dir) / 'iter_2.pth').is_file()


@pytest.mark.parametrize('config', CONFIGS, ids=lambda p: str(p.relative_to(ROOT)))
def test_config_trains_two_iterations(config, tiny_phantom, tmp_path, monkeypatch):
    train_two_iterations(config, tiny_phantom, tmp_path / 'work', monkeypatch)
