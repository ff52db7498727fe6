"""The one checkpoint reader of the toolbox: weights-only and strict.

Every entry point that reads a checkpoint comes here: ``tools/test.py``,
``tools/train.py --resume`` and ``load_from`` (through
:class:`fgsb.engine.runner.ToolboxRunner`), and synthesis
(``fgsb.apis.model_loading``).

- ``torch.load`` is always called with ``weights_only=True`` *explicitly*:
  torch's ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` switches off only the
  default, not an explicit argument, so no environment can make a crafted
  checkpoint run code. The few non-tensor types MMEngine stores are
  allow-listed in :mod:`fgsb.engine.safe_checkpoint`.
- The weights must fit the model exactly: a checkpoint of another model (a
  Pix2Pix checkpoint with an FGSB config) is refused naming both files,
  instead of leaving the mismatched layers at their random initialisation.
"""
import os
import pickle
import re

import torch

from .safe_checkpoint import allow_mmengine_checkpoints

MAX_LISTED_KEYS = 5


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message names the file(s)."""


def require_checkpoint_file(path):
    """Fail early, before a runner and its data sets are built, when ``path``
    is not a file."""
    if not os.path.isfile(path):
        raise CheckpointError(f'{path}: checkpoint file not found')


def read_checkpoint(path, map_location='cpu'):
    """The content of checkpoint ``path``, unpickled weights-only.

    Raises ``CheckpointError`` naming the file when it is missing, truncated,
    not a checkpoint, or pickles a type outside the allow-list.
    """
    allow_mmengine_checkpoints()
    try:
        return torch.load(str(path), map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f'{path}: checkpoint file not found') from None
    except pickle.UnpicklingError as err:
        raise CheckpointError(f'{path}: refused, {_refusal(err)}') from err
    except Exception as err:  # torch.load raises many types for a bad file
        raise CheckpointError(f'{path}: not a readable checkpoint, truncated or corrupt '
                              f'({_first_sentence(err)})') from err


def _first_sentence(err):
    text = ' '.join(str(err).split()) or type(err).__name__
    return text.split('. ')[0].rstrip('.')


def _refusal(err):
    """torch's weights-only refusal (a page of advice) cut to what it refused."""
    found = re.search(r'GLOBAL (\S+) was not an allowed global', str(err))
    if found:
        return (f'it pickles {found.group(1)}, which weights-only loading does not run '
                '(a checkpoint holds only tensors and MMEngine\'s own data types)')
    found = re.search(r'WeightsUnpickler error: ([^\n]+)', str(err))
    return f'weights-only loading stopped at: {found.group(1) if found else _first_sentence(err)}'


def checkpoint_weights(checkpoint, path):
    """The ``state_dict`` of tensors of a read checkpoint (or of a bare state dict)."""
    state = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict) or not state or not all(
            isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f'{path}: holds no state_dict of tensors')
    return state


def listed(names, limit=MAX_LISTED_KEYS):
    """``'a, b, c and 4 more'``: the first ``limit`` of ``names``, in their order."""
    names = list(names)
    more = f' and {len(names) - limit} more' if len(names) > limit else ''
    return ', '.join(names[:limit]) + more


def weights_mismatch(model, state):
    """Why ``state`` does not fit ``model`` (missing, unexpected, reshaped
    keys), or '' when it fits exactly."""
    expected = model.state_dict()
    problems = []
    missing = expected.keys() - state.keys()
    unexpected = state.keys() - expected.keys()
    reshaped = [f'{k} {tuple(state[k].shape)} vs {tuple(expected[k].shape)}'
                for k in expected.keys() & state.keys() if state[k].shape != expected[k].shape]
    if missing:
        problems.append(f'{len(missing)} missing weights ({listed(sorted(missing))})')
    if unexpected:
        problems.append(f'{len(unexpected)} unexpected weights ({listed(sorted(unexpected))})')
    if reshaped:
        problems.append(f'{len(reshaped)} weights of another shape ({listed(sorted(reshaped))})')
    return '; '.join(problems)


def load_weights(model, checkpoint, checkpoint_path, config_name):
    """Load a read checkpoint's weights into ``model``, strictly.

    Raises ``CheckpointError`` naming ``checkpoint_path`` and ``config_name``
    when the weights do not fit the model exactly.
    """
    state = checkpoint_weights(checkpoint, checkpoint_path)
    problem = weights_mismatch(model, state)
    if problem:
        raise CheckpointError(f'{checkpoint_path} does not match the model of {config_name}: '
                              f'{problem}. Was it trained with this config?')
    model.load_state_dict(state, strict=True)
