"""Distributed training on CPU: gloo process group, one DDP a network.

The end-to-end test starts two processes with tools/dist_train.sh (torchrun,
launcher `pytorch`) on a tiny data set; each rank trains on its own slices,
so their weights would drift apart unless the gradients were averaged.
"""
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
import torch.distributed as dist

import fgsb.engine  # noqa: F401
import fgsb.models  # noqa: F401
from fgsb.engine.distributed import (NetworkDistributedDataParallel,
                                     SeparateDistributedDataParallel,
                                     init_cpu_process_group, setup_distributed)
from fgsb.registry import MODELS
from conftest import tiny_config

ROOT = Path(__file__).resolve().parents[1]
NETWORKS = ('generator', 'discriminator', 'mi_estimator', 'feature_mlp')

needs_cpu_only = pytest.mark.skipif(torch.cuda.is_available(),
                                    reason='checks the CPU (gloo) path')


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def tiny_fgsb():
    return MODELS.build(dict(
        type='FGSB',
        generator=dict(type='TimeConditionalResnetGenerator', ngf=8, n_blocks=2),
        discriminator=dict(type='SelfSupervisedDiscriminator', ndf=8, n_layers=3),
        mi_estimator=dict(type='MIEstimator', in_channels=4, ndf=8, n_layers=3),
        feature_mlp=dict(type='PatchSampleMLP', out_channels=16),
        ssl_loss=dict(type='SSLReconstructionLoss', loss_weight=1.0),
        num_patches=16, nce_layers=(0, 4, 8, 10, 11)))


@pytest.fixture
def single_process_group(tmp_path):
    dist.init_process_group('gloo', init_method=f'file://{tmp_path / "rendezvous"}',
                            rank=0, world_size=1)
    yield
    dist.destroy_process_group()


@needs_cpu_only
def test_separate_wrapper_wraps_each_network_without_device_ids(single_process_group):
    model = tiny_fgsb()
    # the Runner passes device_ids=[LOCAL_RANK]; DDP on CPU refuses them
    wrapped = SeparateDistributedDataParallel(model, device_ids=[0])
    for name in NETWORKS:
        network = getattr(model, name)
        assert isinstance(network, NetworkDistributedDataParallel), name
        assert network.device_ids is None
    # the algorithm still reaches the networks' own attributes and methods
    assert model.generator.z_dim == 32
    assert callable(model.generator.encode)
    assert callable(model.discriminator.forward_with_reconstructions)
    assert wrapped.module is model


@needs_cpu_only
def test_cpu_process_group_needs_the_launcher_environment(monkeypatch):
    for key in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'):
        monkeypatch.delenv(key, raising=False)
    assert init_cpu_process_group('none') is False
    with pytest.raises(RuntimeError, match='MASTER_ADDR'):
        init_cpu_process_group('pytorch')
    with pytest.raises(ValueError, match="unknown launcher 'lsf'"):
        init_cpu_process_group('lsf')


def test_setup_distributed_leaves_single_process_runs_alone():
    from mmengine.config import Config
    cfg = setup_distributed(Config(dict(launcher='none')))
    assert cfg.get('model_wrapper_cfg') is None


DUMP_HOOK = '''
import os

import torch
import torch.distributed as dist
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class DumpWeightsHook(Hook):
    """Each rank saves its weights before and after training."""

    def __init__(self, out_dir):
        self.out_dir = out_dir

    def _save(self, runner, tag):
        model = runner.model.module
        state = {}
        for name in ('generator', 'discriminator', 'mi_estimator', 'feature_mlp'):
            network = getattr(model, name)
            network = getattr(network, 'module', network)
            for key, value in network.state_dict().items():
                state[f'{name}.{key}'] = value.detach().clone()
        info = dict(backend=dist.get_backend(), world_size=dist.get_world_size(),
                    wrapper=type(runner.model).__name__, iters=runner.iter)
        torch.save(dict(state=state, info=info),
                   os.path.join(self.out_dir, f'{tag}_rank{dist.get_rank()}.pt'))

    def before_train(self, runner):
        self._save(runner, 'before')

    def after_train(self, runner):
        self._save(runner, 'after')
'''


@needs_cpu_only
def test_two_cpu_processes_end_with_identical_weights(tmp_path, prepared_root):
    (tmp_path / 'dump_weights_hook.py').write_text(textwrap.dedent(DUMP_HOOK))
    cfg = tiny_config(ROOT / 'configs/fgsb/fgsb_phantom_2subj.py', prepared_root,
                      tmp_path / 'work')
    cfg.model.nce_layers = [0, 4, 8, 10, 11]
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=2, val_interval=100)
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=100, by_epoch=False)
    cfg.custom_imports = dict(imports=['dump_weights_hook'], allow_failed_imports=False)
    cfg.custom_hooks = [dict(type='DumpWeightsHook', out_dir=str(tmp_path))]
    cfg.train_dataloader.sampler = dict(type='DefaultSampler', shuffle=True)
    config_file = tmp_path / 'dist_fgsb.py'
    cfg.dump(str(config_file))

    env = dict(os.environ, PORT=str(free_port()), OMP_NUM_THREADS='1',
               PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT),
                                           os.environ.get('PYTHONPATH', '')]))
    done = subprocess.run(['bash', str(ROOT / 'tools/dist_train.sh'), str(config_file), '2'],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    runs = {f'{tag}{rank}': torch.load(tmp_path / f'{tag}_rank{rank}.pt', weights_only=True)
            for tag in ('before', 'after') for rank in (0, 1)}
    for run in runs.values():
        assert run['info'] == dict(backend='gloo', world_size=2,
                                   wrapper='SeparateDistributedDataParallel',
                                   iters=run['info']['iters'])
    assert runs['after0']['info']['iters'] == 2
    after0, after1 = runs['after0']['state'], runs['after1']['state']
    changed = 0
    for key, value in after0.items():
        torch.testing.assert_close(value, after1[key], rtol=0, atol=1e-6, msg=key)
        changed += not torch.equal(value, runs['before0']['state'][key])
    assert changed > len(after0) // 2  # training moved the weights


def test_dist_train_sh_checks_its_arguments(tmp_path):
    done = subprocess.run(['bash', str(ROOT / 'tools/dist_train.sh'),
                           str(tmp_path / 'missing.py'), '2'], capture_output=True, text=True)
    assert done.returncode == 2 and 'missing.py' in done.stderr
    done = subprocess.run(['bash', str(ROOT / 'tools/dist_train.sh'),
                           str(ROOT / 'configs/fgsb/fgsb_phantom_2subj.py'), 'two'],
                          capture_output=True, text=True)
    assert done.returncode == 2 and 'NUM_PROCS' in done.stderr
