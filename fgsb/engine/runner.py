"""The Runner of ``tools/train.py`` and ``tools/test.py``: MMEngine's, with
the toolbox's guarantees on checkpoints (docs/guarantees.md).

- Loading (``load_from``, ``--resume``, ``tools/test.py``'s checkpoint) goes
  through :mod:`fgsb.engine.checkpoint_loading`: weights-only whatever the
  environment says, and strict, naming both files on a mismatch. MMEngine's
  own loader unpickled with torch's default and loaded non-strictly.
- ``--resume`` without a path picks its checkpoint with
  :func:`fgsb.engine.resume_checkpoint.find_resume_checkpoint` (relative
  ``last_checkpoint``, fallback to the newest readable one, refusal when none
  is left) instead of training from scratch.
- A checkpoint carries the random states of the training
  (:mod:`fgsb.engine.random_states`) and a resumed run restores them, so a
  killed and resumed CPU run ends with the weights of an uninterrupted one.
- A checkpoint is written atomically: a kill mid-save leaves the previous
  files, never a truncated ``epoch_N.pth``.
"""
import os.path as osp

from mmengine.device import get_device
from mmengine.dist import is_main_process, master_only
from mmengine.model import is_model_wrapper
from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop, Runner

from fgsb.fileio import atomic_path, remove_stale_temporaries
from .checkpoint_loading import CheckpointError, load_weights, read_checkpoint
from .random_states import RestoreAfterSkipping, TrainingRandomStateHook, restore_random_states
from .resume_checkpoint import find_resume_checkpoint

RANDOM_STATES_KEY = 'random_states'  # in a checkpoint's meta


class ToolboxRunner(Runner):
    """``mmengine.runner.Runner`` with strict weights-only loading, checked
    resume with every random state, and atomic checkpoint files. Build it
    like the Runner: ``ToolboxRunner.from_cfg(cfg)``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._read_ahead = None  # (path, content) read once, loaded once
        self._random_state_hook = TrainingRandomStateHook()
        self.register_hook(self._random_state_hook)

    def _config_name(self):
        return self.cfg.filename or 'the config'

    def _read(self, filename, map_location):
        if self._read_ahead is not None and self._read_ahead[0] == filename:
            content, self._read_ahead = self._read_ahead[1], None
            return content
        return read_checkpoint(filename, map_location)

    def load_checkpoint(self, filename, map_location='cpu'):
        """Load ``filename``'s weights into the model, weights-only and
        strictly; returns the checkpoint's content. Raises
        ``CheckpointError`` naming the checkpoint and the config."""
        checkpoint = self._read(filename, map_location)
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = self.model.module if is_model_wrapper(self.model) else self.model
        load_weights(model, checkpoint, filename, self._config_name())
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint

    def load_or_resume(self):
        if self._has_loaded:
            return
        if self._resume:
            filename = self._load_from
            if filename is None:
                filename, content = find_resume_checkpoint(self.work_dir, 'cpu',
                                                           self.logger.warning)
                self._read_ahead = (filename, content)
            self.resume(filename)
        elif self._load_from is not None:
            self.load_checkpoint(self._load_from)

    def resume(self, filename, resume_optimizer=True, resume_param_scheduler=True,
               map_location='default'):
        """MMEngine's resume from ``filename`` through the strict loader,
        then the random states and the data sampler's seed of the run."""
        device = get_device() if map_location == 'default' else map_location
        content = self._read(filename, device)
        meta = content.get('meta') if isinstance(content, dict) else None
        if not isinstance(meta, dict) or 'iter' not in meta or 'epoch' not in meta:
            raise CheckpointError(f'{filename} holds no training state to resume '
                                  '(give it as load_from to start from its weights)')
        self._read_ahead = (filename, content)
        super().resume(filename, resume_optimizer, resume_param_scheduler, map_location)
        self._check_epoch_boundary(filename)
        self._restore_randomness(filename, meta)

    def _check_epoch_boundary(self, filename):
        loop = self.train_loop
        if not isinstance(loop, EpochBasedTrainLoop):
            return
        epoch_length = len(loop.dataloader)
        if loop.iter != loop.epoch * epoch_length:
            raise CheckpointError(
                f'{filename} was saved at iteration {loop.iter}, inside epoch '
                f'{loop.epoch + 1} ({epoch_length} iterations an epoch): an epoch-based '
                'run resumes only from the end of an epoch (a by_epoch checkpoint)')

    def _restore_randomness(self, filename, meta):
        sampler = getattr(self.train_dataloader, 'sampler', None)
        if meta.get('seed') is not None and hasattr(sampler, 'seed'):
            sampler.seed = meta['seed']  # built before the checkpoint was read
        states = meta.get(RANDOM_STATES_KEY)
        if states is None:
            self.logger.warning(f'{filename} holds no random states: the resumed run draws '
                                'other random numbers than an uninterrupted one would')
            return
        loop = self.train_loop
        if isinstance(loop, IterBasedTrainLoop) and loop.iter > 0:
            loop.dataloader_iterator = RestoreAfterSkipping(loop.dataloader_iterator,
                                                            loop.iter, states)
        else:
            restore_random_states(states)

    def train(self):
        if is_main_process():  # left by a run killed while writing
            remove_stale_temporaries(self.work_dir)
        return super().train()

    @master_only
    def save_checkpoint(self, out_dir, filename, file_client_args=None, save_optimizer=True,
                        save_param_scheduler=True, meta=None, by_epoch=True,
                        backend_args=None):
        """MMEngine's checkpoint, plus the training's random states, written
        through a temporary file renamed onto ``out_dir/filename``."""
        meta = dict(meta or {})
        meta[RANDOM_STATES_KEY] = self._random_state_hook.training_states()
        with atomic_path(osp.join(out_dir, filename)) as temporary:
            super().save_checkpoint(osp.dirname(temporary), osp.basename(temporary),
                                    file_client_args, save_optimizer, save_param_scheduler,
                                    meta, by_epoch, backend_args)
