"""Build a model from its config and load a trained checkpoint into it.

Checkpoints are read with ``torch.load(weights_only=True)``: ``fgsb.engine``
allow-lists the few non-tensor types MMEngine stores, nothing else is
unpickled. The weights must match the config's model exactly (strict), so a
checkpoint of another config fails here with both files named, not later
with a shape error deep inside a convolution.
"""
from pathlib import Path

import torch
from mmengine.config import Config

import fgsb.engine  # noqa: F401  (registers components, allow-lists checkpoints)
from fgsb.registry import MODELS

MAX_LISTED_KEYS = 5


class ModelLoadError(ValueError):
    """A config or checkpoint that cannot give a model; names the file(s)."""


def default_device():
    """CUDA when present, else the CPU."""
    return 'cuda' if torch.cuda.is_available() else 'cpu'


def _read_config(config):
    if isinstance(config, Config):
        return config, config.filename or 'config'
    path = Path(config)
    if not path.is_file():
        raise ModelLoadError(f'{path}: config file not found')
    return Config.fromfile(str(path)), str(path)


def _read_state_dict(checkpoint):
    path = Path(checkpoint)
    if not path.is_file():
        raise ModelLoadError(f'{path}: checkpoint file not found')
    try:
        content = torch.load(str(path), map_location='cpu', weights_only=True)
    except Exception as err:  # torch.load raises many types for a bad file
        raise ModelLoadError(f'{path}: not a readable checkpoint ({err})') from err
    state = content.get('state_dict', content) if isinstance(content, dict) else None
    if not isinstance(state, dict) or not all(
            isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelLoadError(f'{path}: holds no state_dict of tensors')
    return state


def _listed(keys):
    keys = sorted(keys)
    more = f' and {len(keys) - MAX_LISTED_KEYS} more' if len(keys) > MAX_LISTED_KEYS else ''
    return ', '.join(keys[:MAX_LISTED_KEYS]) + more


def _mismatch(model, state):
    """Why ``state`` does not fit ``model`` (missing, unexpected, reshaped keys)."""
    expected = model.state_dict()
    problems = []
    missing = expected.keys() - state.keys()
    unexpected = state.keys() - expected.keys()
    reshaped = [f'{k} {tuple(state[k].shape)} vs {tuple(expected[k].shape)}'
                for k in expected.keys() & state.keys() if state[k].shape != expected[k].shape]
    if missing:
        problems.append(f'{len(missing)} missing weights ({_listed(missing)})')
    if unexpected:
        problems.append(f'{len(unexpected)} unexpected weights ({_listed(unexpected)})')
    if reshaped:
        problems.append(f'{len(reshaped)} weights of another shape ({_listed(reshaped)})')
    return '; '.join(problems)


def load_model(config, checkpoint, device=None):
    """The trained model of ``config`` (path or ``Config``) with ``checkpoint``'s weights.

    Returns the model in eval mode on ``device`` (default: CUDA when present),
    with the config kept as ``model.cfg`` (synthesis reads its slice
    settings from there). Raises ``ModelLoadError`` naming the file(s) when
    either cannot be read or the weights do not match the config's model.
    """
    cfg, config_name = _read_config(config)
    try:
        model = MODELS.build(cfg.model)
    except (KeyError, TypeError, ValueError) as err:
        raise ModelLoadError(f'{config_name}: cannot build its model ({err})') from err
    state = _read_state_dict(checkpoint)
    problem = _mismatch(model, state)
    if problem:
        raise ModelLoadError(
            f'{checkpoint} does not match the model of {config_name}: {problem}. '
            'Was it trained with this config?')
    model.load_state_dict(state, strict=True)
    model.cfg = cfg
    device = device or default_device()
    try:
        model = model.to(device)
    except (RuntimeError, AssertionError) as err:  # no CUDA build / no such GPU
        raise ModelLoadError(f'cannot put the model of {config_name} on device '
                             f'{device!r} ({err})') from err
    return model.eval()
