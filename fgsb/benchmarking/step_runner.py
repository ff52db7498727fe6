"""The model under test, its optimisers and a synthetic batch: one iteration on demand."""
import copy
import time
from contextlib import nullcontext

import torch
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.optim import build_optim_wrapper

from fgsb.datasets.batch_keys import META, PRIOR, SOURCE, SOURCE_NEG, TARGET, TARGET_NEG
from fgsb.engine.bf16_autocast import bf16_autocast_for, enable_bf16_autocast
from fgsb.engine.run_config import innermost_dataset
from fgsb.registry import MODELS
from .straightforward_step import straightforward_train_step
from .variants import BASELINE, has_straightforward_path


class BenchmarkError(ValueError):
    """A setting the benchmark cannot run with (the message names it)."""


def batch_geometry(cfg, settings):
    """(batch size, (H, W)) of the benchmark: the settings', else the config's."""
    loader = cfg.get('train_dataloader' if settings.mode == 'train' else 'val_dataloader', {})
    dataset = innermost_dataset(loader.get('dataset')) or {}
    size = settings.shape or [dataset.get('size')] * 2
    if size[0] is None:
        raise BenchmarkError('the config names no image size: give --shape H W')
    return settings.batch_size or loader.get('batch_size') or 1, tuple(size)


class StepRunner:
    """Builds the model of ``cfg`` and runs one training or inference
    iteration of a variant on a fixed random batch."""

    def __init__(self, cfg, settings):
        self.settings = settings
        self.device = torch.device(settings.device)
        torch.manual_seed(settings.seed)
        self.batch_size, self.shape = batch_geometry(cfg, settings)
        self.model = MODELS.build(copy.deepcopy(cfg.model)).to(self.device)
        self.memory_format = (torch.channels_last if settings.channels_last
                              else torch.contiguous_format)
        if settings.channels_last:
            self.model.to(memory_format=torch.channels_last)
        if settings.compile:
            for module in self.model.children():
                if any(True for _ in module.parameters()):
                    module.compile()
        self.optim = self._optimisers(cfg) if settings.mode == 'train' else {}
        self.step_index = self._pin_step_index() if settings.mode == 'train' else None
        if getattr(self.model, 'guidance_anneal', None) is not None:
            # The training progress that guidance annealing reads, pinned at the
            # start (the guidance weight changes no cost).
            hub = MessageHub.get_current_instance()
            hub.update_info('iter', 0)
            hub.update_info('max_iters', 1)
        self.batch = self._synthetic_batch(cfg)
        self._checked = set()  # the variants that ran once without an error

    def _optimisers(self, cfg):
        """``{bf16: optimiser wrapper}`` of each precision timed (bf16: under autocast)."""
        optim = {}
        for bf16 in self.settings.bf16_modes:
            wrapper_cfg = Config(dict(optim_wrapper=copy.deepcopy(cfg.optim_wrapper)))
            if bf16:
                enable_bf16_autocast(wrapper_cfg)
            optim[bf16] = build_optim_wrapper(self.model, wrapper_cfg.optim_wrapper)
        return optim

    def _pin_step_index(self):
        """The bridge step of every FGSB/UNSB iteration, pinned so that every
        variant makes the same number of chain calls (None for other models)."""
        if not has_straightforward_path(self.model):
            return None
        steps = self.model.num_steps
        k = self.settings.step_index
        k = (steps - 1) // 2 if k is None else k
        if not 0 <= k < steps:
            raise BenchmarkError(f'--step-index must lie in 0..{steps - 1}, got {k}')
        return k

    def _synthetic_batch(self, cfg):
        """Random slices in [-1, 1] with the keys the config's loader yields."""
        loader = cfg.get('train_dataloader', {})
        outer = loader.get('dataset') or {}
        dataset = innermost_dataset(outer)

        def image(channels):
            shape = (self.batch_size, channels, *self.shape)
            return (torch.rand(shape) * 2 - 1).contiguous(memory_format=self.memory_format)
        # 2.5D input and multi-slice output: sources and targets have their own channels
        source, target = self.model.source_channels, self.model.target_channels
        batch = {SOURCE: image(source), TARGET: image(target),
                 META: [{} for _ in range(self.batch_size)]}
        # batch 1: the MI estimator's negatives come from a second sample
        if wrapped_in(outer, 'NegativePairDataset') or (
                self.batch_size == 1 and has_straightforward_path(self.model)):
            batch.update({SOURCE_NEG: image(source), TARGET_NEG: image(target)})
        if dataset.get('prior') is not None:  # one slice, as the data set's
            batch[PRIOR] = (batch[TARGET][:, :1] > 0.6).float()
        return batch

    def run(self, variant):
        """One iteration of ``variant``: (wall seconds, CPU seconds of this process).

        The first iteration that fails (an image too small for the networks,
        a batch the model refuses) is a BenchmarkError naming the batch."""
        if variant in self._checked:
            return self._run(variant)
        try:
            seconds = self._run(variant)
        except (RuntimeError, ValueError) as err:
            raise BenchmarkError(
                f'one {self.settings.mode} iteration ({variant.name}) of batch '
                f'{self.batch_size} at {self.shape[0]}x{self.shape[1]} failed: '
                f'{str(err).strip().splitlines()[0]}') from err
        self._checked.add(variant)
        return seconds

    def _run(self, variant):
        self._synchronize()
        start, cpu_start = time.perf_counter(), time.process_time()
        if self.settings.mode == 'train':
            self.model.train()
            optim = self.optim[variant.bf16]
            if variant.path == BASELINE:
                straightforward_train_step(self.model, self.batch, optim, self.step_index)
            elif self.step_index is None:
                self.model.train_step(self.batch, optim)
            else:
                self.model.train_step(self.batch, optim, step_index=self.step_index)
        else:
            self.model.eval()
            source = self.batch[SOURCE].to(self.device, non_blocking=True)
            with torch.no_grad(), (bf16_autocast_for(self.model) if variant.bf16
                                   else nullcontext()):
                self.model.translate(source)
        self._synchronize()
        return time.perf_counter() - start, time.process_time() - cpu_start

    def _synchronize(self):
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)


def wrapped_in(dataset_cfg, wrapper_type):
    """Whether a wrapper of type ``wrapper_type`` lies around the innermost data set."""
    inner = innermost_dataset(dataset_cfg)
    while dataset_cfg is not inner:
        if dataset_cfg.get('type') == wrapper_type:
            return True
        dataset_cfg = dataset_cfg['dataset']
    return False
