"""Which checkpoint ``--resume`` (without a path) continues from.

MMEngine read the path stored in ``<work_dir>/last_checkpoint`` and, when
that was missing, logged "Auto resumed from the latest checkpoint None."
and trained from scratch; the stored path was absolute, so a copied work dir
resumed from the original folder. Here:

- ``last_checkpoint`` is read relative to the work dir (an absolute path
  from an older run counts by its file name), so a copied work dir resumes
  from its own checkpoint;
- when that checkpoint is missing or unreadable (a kill mid-save, a deleted
  file), the newest readable ``epoch_N.pth`` / ``iter_N.pth`` of the work dir
  is used instead, and the log says so;
- when no checkpoint is readable, resuming is refused.
"""
import os
import os.path as osp
import re

from .checkpoint_loading import CheckpointError, read_checkpoint
from .finite_checkpoint_hook import LAST_CHECKPOINT_FILE

PERIODIC_CHECKPOINT = re.compile(r'^(epoch|iter)_(\d+)\.pth$')


def recorded_checkpoint(work_dir):
    """The path ``last_checkpoint`` names, inside ``work_dir``; None without one."""
    try:
        with open(osp.join(work_dir, LAST_CHECKPOINT_FILE)) as f:
            recorded = f.read().strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not recorded:
        return None
    if osp.isabs(recorded):  # written by MMEngine's own hook: keep only the name
        recorded = osp.basename(recorded)
    return osp.normpath(osp.join(work_dir, recorded))


def periodic_checkpoints(work_dir):
    """``epoch_N.pth`` and ``iter_N.pth`` of ``work_dir``, newest (largest N) first."""
    found = []
    for name in os.listdir(work_dir) if osp.isdir(work_dir) else []:
        match = PERIODIC_CHECKPOINT.match(name)
        if match:
            found.append((int(match.group(2)), match.group(1) == 'epoch', name))
    return [osp.join(work_dir, name) for _, _, name in sorted(found, reverse=True)]


def find_resume_checkpoint(work_dir, map_location, log):
    """(path, content) of the checkpoint to resume ``work_dir``'s run from.

    ``log(message)`` hears about every candidate skipped. Raises
    ``CheckpointError`` when ``work_dir`` holds no readable checkpoint.
    """
    candidates = []
    recorded = recorded_checkpoint(work_dir)
    if recorded is not None:
        candidates.append(recorded)
    candidates += [p for p in periodic_checkpoints(work_dir) if p not in candidates]
    skipped = []
    for path in candidates:
        if not osp.isfile(path):
            skipped.append(f'{path} (named by {LAST_CHECKPOINT_FILE}) is missing')
            continue
        try:
            content = read_checkpoint(path, map_location)
        except CheckpointError as err:
            skipped.append(str(err))
            continue
        if skipped:
            log(f'resuming from {path}, the newest readable checkpoint; skipped '
                f"{'; '.join(skipped)}")
        return path, content
    detail = f": skipped {'; '.join(skipped)}" if skipped else ''
    raise CheckpointError(f'cannot resume: {work_dir} holds no readable checkpoint{detail}')
