"""Every entry point reads checkpoints weights-only and strictly.

A crafted checkpoint that creates a file when unpickled must be refused by
tools/test.py, tools/train.py --resume (with and without a path) and
load_from, even with TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1, which switches off
torch's weights-only default (as an older torch would have it). A
checkpoint of another model must be refused naming both files.
"""
import shutil
import warnings
from pathlib import Path

import pytest
import torch

import fgsb.engine  # noqa: F401
from fgsb.apis import ModelLoadError, load_model
from fgsb.registry import MODELS
from conftest import run_tool, tiny_config

ROOT = Path(__file__).resolve().parents[1]
PIX2PIX = ROOT / 'configs/pix2pix/pix2pix_phantom_2subj.py'
FGSB = ROOT / 'configs/fgsb/fgsb_phantom_2subj.py'


class CreatesAFile:
    """Unpickled by a full unpickler, this calls ``open(path, 'w')``."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return open, (str(self.path), 'w')


def tiny_config_file(config, data_root, folder):
    cfg = tiny_config(config, data_root, folder / 'work')
    path = folder / f'tiny_{config.stem}.py'
    folder.mkdir(parents=True, exist_ok=True)
    cfg.dump(str(path))
    return path, cfg


def save_weights(cfg, path, **extra):
    """A checkpoint of ``cfg``'s freshly built model, as MMEngine lays it out."""
    model = MODELS.build(cfg.model)
    torch.save({'meta': {'epoch': 1, 'iter': 1}, 'state_dict': model.state_dict(), **extra},
               path)
    return path




@pytest.fixture
def crafted(prepared_root, tmp_path, monkeypatch):
    """(config, crafted checkpoint, marker file): the checkpoint holds the
    config's exact weights and a payload that creates the marker."""
    config, cfg = tiny_config_file(PIX2PIX, prepared_root, tmp_path)
    marker = tmp_path / 'payload_ran'
    checkpoint = save_weights(cfg, tmp_path / 'crafted.pth', payload=CreatesAFile(marker))
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    # the payload is live: torch's default load (switched off by the variable) runs it
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # torch warns that the default is off
        torch.load(checkpoint)
    assert marker.exists()
    marker.unlink()
    return config, checkpoint, marker


def assert_refused(code, checkpoint, marker):
    assert isinstance(code, str) and code.startswith('error: '), code
    assert str(checkpoint) in code and 'refused' in code and '\n' not in code
    assert not marker.exists()


def test_test_tool_refuses_a_crafted_checkpoint(crafted, tmp_path, monkeypatch):
    config, checkpoint, marker = crafted
    code = run_tool(monkeypatch, 'test', config, checkpoint, '--out', tmp_path / 'm.json')
    assert_refused(code, checkpoint, marker)
    assert not (tmp_path / 'm.json').exists()


def test_resume_and_load_from_refuse_a_crafted_checkpoint(crafted, tmp_path, monkeypatch):
    config, checkpoint, marker = crafted
    work = tmp_path / 'work'
    assert_refused(run_tool(monkeypatch, 'train', config, '--work-dir', work,
                            '--resume', checkpoint), checkpoint, marker)
    assert_refused(run_tool(monkeypatch, 'train', config, '--work-dir', work,
                            '--cfg-options', f'load_from={checkpoint}'), checkpoint, marker)
    # --resume without a path: the work dir's only checkpoint is the crafted one
    work.mkdir(exist_ok=True)
    shutil.copy(checkpoint, work / 'epoch_1.pth')
    (work / 'last_checkpoint').write_text('epoch_1.pth')
    code = run_tool(monkeypatch, 'train', config, '--work-dir', work, '--resume')
    assert 'no readable checkpoint' in code and 'epoch_1.pth' in code
    assert not marker.exists()
    # synthesis reads through the same loader
    with pytest.raises(ModelLoadError, match='refused'):
        load_model(config, checkpoint, device='cpu')
    assert not marker.exists()


def test_checkpoint_of_another_model_names_both_files(prepared_root, tmp_path, monkeypatch):
    pix2pix, pix2pix_cfg = tiny_config_file(PIX2PIX, prepared_root, tmp_path / 'p')
    fgsb, fgsb_cfg = tiny_config_file(FGSB, prepared_root, tmp_path / 'f')
    pix2pix_checkpoint = save_weights(pix2pix_cfg, tmp_path / 'pix2pix.pth')
    fgsb_checkpoint = save_weights(fgsb_cfg, tmp_path / 'fgsb.pth')
    for config, checkpoint in ((fgsb, pix2pix_checkpoint), (pix2pix, fgsb_checkpoint)):
        code = run_tool(monkeypatch, 'test', config, checkpoint, '--out', tmp_path / 'm.json')
        assert code.startswith('error: ') and str(config) in code and str(checkpoint) in code
        assert 'missing weights' in code and 'unexpected weights' in code
    assert not (tmp_path / 'm.json').exists()
    code = run_tool(monkeypatch, 'train', fgsb, '--work-dir', tmp_path / 'w',
                    '--cfg-options', f'load_from={pix2pix_checkpoint}')
    assert str(fgsb) in code and str(pix2pix_checkpoint) in code
    code = run_tool(monkeypatch, 'train', pix2pix, '--work-dir', tmp_path / 'w',
                    '--resume', fgsb_checkpoint)
    assert str(pix2pix) in code and str(fgsb_checkpoint) in code
