"""The config helper: --cfg-options checked, schedule kept in step with max_epochs."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.optim.scheduler import LinearLR

from fgsb.apis import ModelLoadError, load_model
from fgsb.engine.run_config import (ConfigError, innermost_dataset, innermost_dataset_key,
                                    load_config)
from conftest import run_tool

ROOT = Path(__file__).resolve().parents[1]
FGSB = ROOT / 'configs/fgsb/fgsb_phantom_2subj.py'  # cpu_short.py: 4 epochs, decay over 2-4
PAPER = ROOT / 'configs/fgsb/fgsb_ixi_25subj.py'


def test_misspelt_section_names_the_option():
    with pytest.raises(ConfigError) as error:
        load_config(FGSB, {'model.genrator.ngf': 8})
    message = str(error.value)
    assert 'model.genrator.ngf=8' in message and "'model.genrator'" in message
    assert str(FGSB) in message and '\n' not in message


def test_value_of_another_type_names_option_and_both_types():
    with pytest.raises(ConfigError) as error:
        load_config(FGSB, ['model.generator.ngf=abc'])
    message = str(error.value)
    assert "model.generator.ngf='abc'" in message
    assert 'an int' in message and 'a str' in message


@pytest.mark.parametrize('option, expected', [
    ('param_scheduler.3.begin=1', 'is a list of 1'),
    ('model.generator.ngf.depth=2', 'not a section'),
    ('model.identity=yes', 'a bool'),
    ('no_equals_sign', 'KEY=VALUE'),
])
def test_other_bad_options(option, expected):
    with pytest.raises(ConfigError, match=expected):
        load_config(FGSB, [option])


def test_good_options_merge_as_mmengine_does():
    cfg = load_config(FGSB, ['model.generator.ngf=8', 'optim_wrapper.generator.optimizer.lr=1',
                             'model.guidance_anneal=None', 'model.nce_layers=[0,4]',
                             'train_cfg._delete_=True', 'train_cfg.type=IterBasedTrainLoop',
                             'train_cfg.max_iters=2'])
    assert cfg.model.generator.ngf == 8 and cfg.model.nce_layers == [0, 4]
    assert cfg.optim_wrapper.generator.optimizer.lr == 1  # an int for a float is fine
    assert cfg.model.guidance_anneal is None  # a key the file leaves at its default
    assert dict(cfg.train_cfg) == {'type': 'IterBasedTrainLoop', 'max_iters': 2}


def test_missing_and_broken_files(tmp_path):
    with pytest.raises(ConfigError, match='config file not found'):
        load_config(tmp_path / 'nope.py')
    broken = tmp_path / 'broken.py'
    broken.write_text('model = dict(\n')
    with pytest.raises(ConfigError, match=str(broken)):
        load_config(broken)
    with pytest.raises(ModelLoadError, match='config file not found'):
        load_model(tmp_path / 'nope.py', tmp_path / 'nope.pth')


def test_without_options_the_config_is_the_file():
    assert load_config(PAPER).pretty_text == Config.fromfile(str(PAPER)).pretty_text


def lr_of_each_iteration(scheduler_cfg, epoch_length):
    """The learning rate (base 1) each iteration trains with, and the one after."""
    cfg = dict(scheduler_cfg)
    assert cfg.pop('type') == 'LinearLR' and cfg.pop('convert_to_iter_based')
    weight = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([weight], lr=1.0)
    scheduler = LinearLR.build_iter_from_epoch(optimizer, epoch_length=epoch_length, **cfg)
    lrs = []
    for _ in range(scheduler.end):
        lrs.append(optimizer.param_groups[0]['lr'])
        optimizer.step()
        scheduler.step()
    return lrs, optimizer.param_groups[0]['lr']


def test_one_epoch_override_keeps_the_decay_to_zero():
    base = load_config(FGSB)
    assert (base.param_scheduler[0].begin, base.param_scheduler[0].end) == (2, 4)
    cfg = load_config(FGSB, ['train_cfg.max_epochs=1'])
    scheduler = cfg.param_scheduler[0]
    assert (scheduler.begin, scheduler.end) == (0.5, 1)
    # 4 iterations an epoch: constant for the first half, linear to 0 over the second
    lrs, after = lr_of_each_iteration(scheduler, epoch_length=4)
    assert lrs == [1.0, 1.0, 1.0, 0.0] and after == 0.0
    # everything else is the file's
    base.train_cfg.max_epochs = 1
    base.param_scheduler[0].update(begin=0.5, end=1)
    assert cfg.pretty_text == base.pretty_text


def test_paper_schedule_rescales_and_explicit_bounds_win():
    cfg = load_config(PAPER, ['train_cfg.max_epochs=12'])
    assert (cfg.param_scheduler[0].begin, cfg.param_scheduler[0].end) == (6, 12)
    cfg = load_config(PAPER, ['train_cfg.max_epochs=12', 'param_scheduler.0.begin=9'])
    assert (cfg.param_scheduler[0].begin, cfg.param_scheduler[0].end) == (9, 12)


def test_innermost_dataset_and_its_key():
    cfg = load_config(FGSB)
    inner = innermost_dataset(cfg.train_dataloader.dataset)
    assert inner.type == 'PhantomSliceDataset'
    assert cfg.train_dataloader.dataset.type == 'NegativePairDataset'
    assert innermost_dataset_key(cfg, 'train_dataloader') == 'train_dataloader.dataset.dataset'
    assert innermost_dataset_key(cfg, 'test_dataloader') == 'test_dataloader.dataset'
    assert innermost_dataset(None) is None
    assert innermost_dataset_key(Config(dict()), 'train_dataloader') is None


def test_train_tool_reports_a_bad_option_in_one_line(monkeypatch):
    message = run_tool(monkeypatch, 'train', FGSB, '--cfg-options', 'model.genrator.ngf=8')
    assert message.startswith('error: ') and 'model.genrator' in message
