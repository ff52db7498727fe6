"""The precision policy (fgsb/engine/precision.py) applied to an MMEngine run.

bf16 training runs each optimiser's step under autocast
(``BF16AutocastOptimWrapper``); bf16 validation and testing run the model's
step under autocast in :class:`BF16ValLoop` / :class:`BF16TestLoop` and hand
float32 outputs to the evaluator, outside autocast. What ran, and why, is
recorded in ``<work_dir>/precision.json``, one entry a stage.
"""
import json
import os.path as osp

import torch
from mmengine.device import get_device
from mmengine.dist import is_main_process
from mmengine.logging import MMLogger
from mmengine.runner import TestLoop, ValLoop
from mmengine.runner.loops import _update_losses

from fgsb.fileio import write_json_atomic
from fgsb.registry import LOOPS
from .bf16_autocast import bf16_autocast_for, enable_bf16_autocast
from .run_config import ConfigError
from .precision import Precision, requested_precision, resolve_precision, to_float32

PRECISION_FILE = 'precision.json'
BF16_LOOPS = (('val_cfg', 'ValLoop', 'BF16ValLoop'), ('test_cfg', 'TestLoop', 'BF16TestLoop'))


def _run_iter_in_bf16(loop, stage, idx, data_batch):
    """MMEngine's ``ValLoop``/``TestLoop.run_iter`` with the model's step under
    autocast and the evaluator outside it, so that any model's outputs are
    scored in float32 (mmengine is pinned: ``_update_losses`` is its own
    helper of these loops)."""
    runner = loop.runner
    runner.call_hook(f'before_{stage}_iter', batch_idx=idx, data_batch=data_batch)
    with bf16_autocast_for(runner.model):
        outputs = to_float32(getattr(runner.model, f'{stage}_step')(data_batch))
    loss_name = f'{stage}_loss'
    outputs, losses = _update_losses(outputs, getattr(loop, loss_name))
    setattr(loop, loss_name, losses)
    loop.evaluator.process(data_samples=outputs, data_batch=data_batch)
    runner.call_hook(f'after_{stage}_iter', batch_idx=idx, data_batch=data_batch,
                     outputs=outputs)


@LOOPS.register_module()
class BF16ValLoop(ValLoop):
    """``ValLoop`` whose ``model.val_step`` runs under bf16 autocast."""

    @torch.no_grad()
    def run_iter(self, idx, data_batch):
        _run_iter_in_bf16(self, 'val', idx, data_batch)


@LOOPS.register_module()
class BF16TestLoop(TestLoop):
    """``TestLoop`` whose ``model.test_step`` runs under bf16 autocast."""

    @torch.no_grad()
    def run_iter(self, idx, data_batch):
        _run_iter_in_bf16(self, 'test', idx, data_batch)


def apply_precision(cfg, precision: Precision):
    """Switch a run config to ``precision``: for bf16 the optimiser wrappers
    and the val/test loops autocast; fp32 leaves the config as it is."""
    if not precision.is_bf16:
        return cfg
    if cfg.get('optim_wrapper') is not None:
        enable_bf16_autocast(cfg)
    for key, default_loop, bf16_loop in BF16_LOOPS:
        loop_cfg = cfg.get(key)
        if loop_cfg is None:
            continue
        loop_type = loop_cfg.get('type', default_loop)
        if loop_type not in (default_loop, bf16_loop):
            raise ValueError(f'{key}: precision bf16 replaces the {default_loop}, but the '
                             f'config asks for {loop_type!r}; use precision fp32')
        loop_cfg['type'] = bf16_loop
    return cfg


def precision_for_run(cfg, flag=None) -> Precision:
    """Resolve the precision a run asks for (``--precision`` ``flag``, else the
    config's ``precision``) on the device MMEngine will use, and apply it to
    ``cfg``; ``ConfigError`` (one line) when that cannot be."""
    try:
        precision = resolve_precision(requested_precision(flag, cfg), get_device())
        apply_precision(cfg, precision)
    except ValueError as err:
        raise ConfigError(str(err)) from None
    return precision


def record_precision(precision: Precision, work_dir, stage: str) -> str:
    """Set ``stage``'s entry ('train', 'test') of ``<work_dir>/precision.json``
    (other stages' entries stay); return the file's path."""
    path = osp.join(work_dir, PRECISION_FILE)
    record = {}
    if osp.isfile(path):
        try:
            with open(path) as f:
                record = json.load(f)
        except ValueError:  # unreadable: this stage starts a new record
            pass
    if not isinstance(record, dict):
        record = {}
    record[stage] = precision.as_dict()
    write_json_atomic(record, path)
    return path


def report_precision(precision: Precision, work_dir, stage: str) -> None:
    """Log the precision of a run (to the Runner's log, once it is built) and
    record it in its work dir (the main process writes)."""
    MMLogger.get_current_instance().info(f'precision: {precision.name} ({precision.reason})')
    if is_main_process():
        record_precision(precision, work_dir, stage)
