"""A diverging run stops non-zero and keeps its last finite checkpoint."""
import math
import runpy
import sys
from pathlib import Path

import pytest
import torch
from mmengine.hooks import Hook

import fgsb.engine  # noqa: F401
from fgsb.engine.finite_guard import NonFiniteTrainingError, non_finite_names
from fgsb.engine.runner import ToolboxRunner
from conftest import tiny_iteration_config

ROOT = Path(__file__).resolve().parents[1]
PIX2PIX = ROOT / 'configs/pix2pix/pix2pix_phantom_2subj.py'


def all_finite(checkpoint):
    state = torch.load(checkpoint, map_location='cpu', weights_only=True)['state_dict']
    return not non_finite_names(state)


def test_non_finite_names():
    values = {'loss': 1.0, 'nan': float('nan'), 'inf': -math.inf, 'count': 3,
              'tensor': torch.tensor([1.0, math.inf]), 'ok': torch.ones(2),
              'steps': torch.tensor([1, 2])}
    assert non_finite_names(values) == ['nan', 'inf', 'tensor']


def test_diverging_run_exits_non_zero_and_keeps_finite_checkpoints(prepared_root, tmp_path,
                                                                  monkeypatch):
    work = tmp_path / 'work'
    cfg = tiny_iteration_config(PIX2PIX, prepared_root, work, max_iters=8, max_keep_ckpts=2)
    # two good iterations, then a learning rate of 2e6 (a scheduler gone wrong)
    cfg.param_scheduler = [dict(type='MultiStepLR', by_epoch=False, milestones=[2],
                                gamma=1e10)]
    config = tmp_path / 'diverging.py'
    cfg.dump(str(config))
    monkeypatch.setattr(sys, 'argv', ['tools/train.py', str(config)])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(ROOT / 'tools/train.py'), run_name='__main__')
    message = exit_info.value.code
    assert isinstance(message, str) and message.startswith('error: training diverged')
    assert '\n' not in message
    kept = sorted(work.glob('iter_*.pth'), key=lambda p: int(p.stem.split('_')[1]))
    assert kept and all(all_finite(p) for p in kept)
    newest = kept[-1]
    assert (work / 'last_checkpoint').read_text() == newest.name
    assert str(newest) in message  # the message says where to restart from
    assert int(newest.stem.split('_')[1]) < 8  # it stopped before the end


class PoisonWeightsAt(Hook):
    """After iteration ``at`` (its loss was finite), set a weight to NaN, as
    an update that overflowed would; runs before the checkpoint hook."""

    priority = 'NORMAL'

    def __init__(self, at):
        self.at = at

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 == self.at:
            with torch.no_grad():
                next(runner.model.generator.parameters()).view(-1)[0] = math.nan


def test_non_finite_weights_are_never_saved_nor_rotate_a_good_checkpoint_out(
        prepared_root, tmp_path):
    work = tmp_path / 'work'
    runner = ToolboxRunner.from_cfg(tiny_iteration_config(PIX2PIX, prepared_root, work,
                                                          max_iters=3, max_keep_ckpts=1))
    runner.register_hook(PoisonWeightsAt(2))
    with pytest.raises(NonFiniteTrainingError, match='non-finite weights') as error:
        runner.train()
    assert 'generator.' in str(error.value) and 'iter_1.pth' in str(error.value)
    # max_keep_ckpts=1: MMEngine would have deleted iter_1 to make room for iter_2
    assert sorted(p.name for p in work.glob('iter_*.pth')) == ['iter_1.pth']
    assert all_finite(work / 'iter_1.pth')
    assert (work / 'last_checkpoint').read_text() == 'iter_1.pth'
