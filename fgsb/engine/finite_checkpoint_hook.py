"""MMEngine's ``CheckpointHook``, made safe to keep the last good checkpoint.

Three changes to how a periodic checkpoint is written:

- non-finite weights are never written: the run stops with
  ``NonFiniteTrainingError`` *before* the rotation (``max_keep_ckpts``)
  deletes anything, so the newest kept checkpoint is always finite;
- the oldest checkpoint is deleted only after the new one is on disk (the
  file itself is written atomically by ``ToolboxRunner.save_checkpoint``),
  so a kill mid-save never leaves fewer good checkpoints than before;
- ``last_checkpoint`` holds the checkpoint's path relative to the work
  dir, written atomically, so a copied work dir resumes from its own files.
"""
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook
from mmengine.model import is_model_wrapper

from fgsb.fileio import write_text_atomic
from fgsb.registry import HOOKS
from .checkpoint_loading import listed
from .finite_guard import NonFiniteTrainingError, last_checkpoint_note, non_finite_names

LAST_CHECKPOINT_FILE = 'last_checkpoint'
MAX_LISTED_WEIGHTS = 3


@HOOKS.register_module()
class FiniteCheckpointHook(CheckpointHook):
    """``CheckpointHook`` (same arguments) that refuses non-finite weights,
    rotates only after a successful save and records the last checkpoint
    relative to the work dir."""

    def _refuse_non_finite_weights(self, runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        bad = non_finite_names(model.state_dict())
        if bad:
            raise NonFiniteTrainingError(
                f'training diverged by iteration {runner.iter + 1}: non-finite weights '
                f'({listed(bad, MAX_LISTED_WEIGHTS)}); not saved, stopped, '
                f'{last_checkpoint_note(runner)}')

    def _remove_checkpoint(self, step):
        path = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(step))
        if self.file_backend.isfile(path):
            self.file_backend.remove(path)
        elif self.file_backend.isdir(path):  # DeepSpeed saves a folder
            self.file_backend.rmtree(path)

    def _save_checkpoint_with_step(self, runner, step, meta):
        self._refuse_non_finite_weights(runner)
        expired = None
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            if step in self.keep_ckpt_ids:  # saved again after resuming from an older one
                self.keep_ckpt_ids.remove(step)
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                expired = self.keep_ckpt_ids.popleft()
            self.keep_ckpt_ids.append(step)
            # saved inside the checkpoint: a resumed run rotates the same files
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))

        filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(self.out_dir, filename, self.file_client_args,
                               save_optimizer=self.save_optimizer,
                               save_param_scheduler=self.save_param_scheduler,
                               meta=meta, by_epoch=self.by_epoch,
                               backend_args=self.backend_args, **self.args)
        if not is_main_process():
            return
        write_text_atomic(osp.relpath(self.last_ckpt, runner.work_dir),
                          osp.join(runner.work_dir, LAST_CHECKPOINT_FILE))
        if expired is not None:
            self._remove_checkpoint(expired)
