"""tools/train.py and tools/test.py fail in one line, before the work when they can."""
import math
import os
import runpy
from pathlib import Path

import pytest
import torch

import fgsb.engine  # noqa: F401
from fgsb.engine.runner import ToolboxRunner
from fgsb.registry import MODELS
from conftest import run_tool, tiny_config

ROOT = Path(__file__).resolve().parents[1]
PIX2PIX = ROOT / 'configs/pix2pix/pix2pix_phantom_2subj.py'




@pytest.fixture
def tiny_pix2pix(prepared_root, tmp_path):
    """(config file, checkpoint of its freshly built model, the Config)."""
    cfg = tiny_config(PIX2PIX, prepared_root, tmp_path / 'work')
    config = tmp_path / 'tiny.py'
    cfg.dump(str(config))
    checkpoint = tmp_path / 'model.pth'
    torch.save({'state_dict': MODELS.build(cfg.model).state_dict()}, checkpoint)
    return config, checkpoint, cfg


def no_runner(*args, **kwargs):
    raise AssertionError('the output should have been refused before the test ran')


@pytest.mark.parametrize('case', ['out is a folder', 'parent is a file', 'read-only folder'])
def test_unwritable_output_is_refused_before_the_test(case, tiny_pix2pix, tmp_path,
                                                      monkeypatch):
    config, checkpoint, _ = tiny_pix2pix
    if case == 'out is a folder':
        out = tmp_path / 'results'
        out.mkdir()
        expected = 'is a folder'
    elif case == 'parent is a file':
        (tmp_path / 'a_file').write_text('x')
        out = tmp_path / 'a_file' / 'sub' / 'metrics.json'
        expected = 'is a file'
    else:
        if os.geteuid() == 0:
            pytest.skip('root writes into read-only folders')
        folder = tmp_path / 'read_only'
        folder.mkdir()
        folder.chmod(0o555)
        out = folder / 'metrics.json'
        expected = 'not writable'
    monkeypatch.setattr(ToolboxRunner, 'from_cfg', no_runner)
    code = run_tool(monkeypatch, 'test', config, checkpoint, '--out', out)
    assert code.startswith('error: ') and expected in code and str(out) in code
    assert '\n' not in code


def test_non_finite_metrics_are_an_error_not_a_number(tiny_pix2pix, tmp_path, monkeypatch):
    config, checkpoint, cfg = tiny_pix2pix
    model = MODELS.build(cfg.model)
    with torch.no_grad():
        for parameter in model.generator.parameters():
            parameter.fill_(math.nan)
    nan_checkpoint = tmp_path / 'nan.pth'
    torch.save({'state_dict': model.state_dict()}, nan_checkpoint)
    out = tmp_path / 'metrics.json'
    code = run_tool(monkeypatch, 'test', config, nan_checkpoint, '--out', out)
    assert code.startswith('error: ') and 'NaN' in code and '\n' not in code
    assert not out.exists()


def test_non_finite_scores_of_finite_predictions_are_refused_too():
    """A prediction equal to its target scores PSNR inf: not a number to report."""
    tool = runpy.run_path(str(ROOT / 'tools/test.py'))
    metrics = {'PSNR': math.inf, 'SSIM': 0.5, 'NRMSE': 0.0, 'identity_NRMSE': math.nan,
               'Dice': math.nan}  # a lesion score may be NaN: no lesion to score
    assert tool['non_finite_metrics'](metrics) == ['PSNR=inf', 'identity_NRMSE=nan']


class Interrupted:
    """A runner that gets Ctrl-C as soon as it starts."""

    rank = 0

    @classmethod
    def from_cfg(cls, cfg):
        return cls()

    def train(self):
        raise KeyboardInterrupt

    test = train


@pytest.mark.parametrize('tool', ['train', 'test'])
def test_ctrl_c_exits_130_with_one_line(tool, tiny_pix2pix, tmp_path, monkeypatch, capsys):
    config, checkpoint, _ = tiny_pix2pix
    monkeypatch.setattr('fgsb.engine.runner.ToolboxRunner', Interrupted)
    args = (config, checkpoint, '--out', tmp_path / 'm.json') if tool == 'test' else (config,)
    assert run_tool(monkeypatch, tool, *args) == 130
    err = capsys.readouterr().err.strip()
    assert err.startswith('interrupted') and '\n' not in err and 'Traceback' not in err
    if tool == 'train':
        assert err == 'interrupted; resume with --resume'
