"""Build a model from its config and load a trained checkpoint into it.

The config is read with ``fgsb.engine.run_config.load_config`` and the
checkpoint with ``fgsb.engine.checkpoint_loading``, the readers every tool
uses: weights-only unpickling (nothing but tensors and MMEngine's own data
types), and weights that must match the config's model exactly (strict), so
a checkpoint of another config fails here with both files named, not later
with a shape error deep inside a convolution.
"""
import torch
from mmengine.config import Config

import fgsb.engine  # noqa: F401  (registers components, allow-lists checkpoints)
from fgsb.engine.checkpoint_loading import CheckpointError, load_weights, read_checkpoint
from fgsb.engine.run_config import ConfigError, load_config
from fgsb.registry import MODELS
from .checkpoint_record import dataset_meta_of


class ModelLoadError(ValueError):
    """A config or checkpoint that cannot give a model; names the file(s)."""


def default_device():
    """CUDA when present, else the CPU."""
    return 'cuda' if torch.cuda.is_available() else 'cpu'


def _read_config(config):
    if isinstance(config, Config):
        return config, config.filename or 'config'
    try:
        return load_config(config), str(config)
    except ConfigError as err:
        raise ModelLoadError(str(err)) from err


def load_model(config, checkpoint, device=None):
    """The trained model of ``config`` (path or ``Config``) with ``checkpoint``'s weights.

    Returns the model in eval mode on ``device`` (default: CUDA when present),
    with the config kept as ``model.cfg`` (synthesis reads its slice
    settings from there) and the checkpoint's ``meta['dataset_meta']`` as
    ``model.dataset_meta`` ({} when it records none; the check that config
    and checkpoint agree reads it there). Raises ``ModelLoadError`` naming
    the file(s) when either cannot be read or the weights do not match the
    config's model.
    """
    cfg, config_name = _read_config(config)
    try:
        model = MODELS.build(cfg.model)
    except (KeyError, TypeError, ValueError) as err:
        raise ModelLoadError(f'{config_name}: cannot build its model ({err})') from err
    try:
        content = read_checkpoint(checkpoint)
        load_weights(model, content, checkpoint, config_name)
    except CheckpointError as err:
        raise ModelLoadError(str(err)) from err
    model.cfg = cfg
    model.dataset_meta = dataset_meta_of(content)
    del content  # its tensors are copied into the model
    device = device or default_device()
    try:
        model = model.to(device)
    except (RuntimeError, AssertionError) as err:  # no CUDA build / no such GPU
        raise ModelLoadError(f'cannot put the model of {config_name} on device '
                             f'{device!r} ({err})') from err
    return model.eval()
