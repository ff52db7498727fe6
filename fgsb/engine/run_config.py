"""The one way to read a config: load a file, apply ``--cfg-options``, find
the data set inside the loaders' wrappers.

Every tool reads its config through :func:`load_config` (train and test
through :func:`load_run_config`, which also sets the launcher and the work
dir), so that a mistake in a config file or an option is reported the same
way everywhere: a :class:`ConfigError` whose message is one line naming the
file or the option, which a tool prints as ``error: <message>``.

Options are checked before they are merged:

- the path up to the last key must exist (``model.genrator.ngf=8`` names a
  section ``model.genrator`` the config does not have); the last key may be
  new, because configs leave many constructor defaults unwritten
  (``model.identity=False``);
- a value replacing one of the config's must have a compatible type: int and
  float mix, list and tuple mix, ``None`` replaces or is replaced by
  anything; ``model.generator.ngf=abc`` (a str for an int) is refused.

Overriding ``train_cfg.max_epochs`` rescales the epoch-based learning-rate
schedule with it (:mod:`fgsb.engine.schedule_rescaling`), so a shortened run
keeps the shape of the base schedule and still decays to its end.
"""
import os.path as osp
from collections.abc import Mapping

from mmengine.config import Config, DictAction

from .distributed import setup_distributed
from .schedule_rescaling import rescale_epoch_schedule

LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
MAX_EPOCHS_KEY = 'train_cfg.max_epochs'


class ConfigError(ValueError):
    """A config file or ``--cfg-options`` that cannot give a config; the
    message is one line naming the file or the option."""


def _parse_options(cfg_options):
    """``{key: value}`` from DictAction's dict or from 'KEY=VALUE' strings."""
    if isinstance(cfg_options, Mapping):
        return dict(cfg_options)
    options = {}
    for item in cfg_options:
        key, sep, value = str(item).partition('=')
        if not sep or not key:
            raise ConfigError(f'--cfg-options {item!r}: expected KEY=VALUE')
        options[key] = DictAction._parse_iterable(value)
    return options


def _child(node, key):
    """``node[key]`` for a dict or a list (numeric key), else KeyError."""
    if isinstance(node, (list, tuple)):
        if not key.isdigit() or int(key) >= len(node):
            raise KeyError(key)
        return node[int(key)]
    if isinstance(node, Mapping) and key in node:
        return node[key]
    raise KeyError(key)


def _a_type(value):
    name = type(value).__name__
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def _compatible(old, new):
    if old is None or new is None:
        return True
    if isinstance(old, bool) or isinstance(new, bool):
        return isinstance(old, bool) and isinstance(new, bool)
    kinds = ((int, float), (list, tuple), (Mapping,), (str,))
    return any(isinstance(old, kind) and isinstance(new, kind) for kind in kinds) or \
        type(old) is type(new)


def _check_option(cfg, key, value, source):
    """Refuse an option whose section does not exist or whose value has
    another type than the config's."""
    parts = key.split('.')
    node = cfg._cfg_dict
    for depth, part in enumerate(parts[:-1]):
        try:
            node = _child(node, part)
        except KeyError:
            where = '.'.join(parts[:depth]) or 'the config'
            what = (f'{where} is a list of {len(node)}' if isinstance(node, (list, tuple))
                    else f'{where} has no key {part!r}; is it misspelt?')
            raise ConfigError(f'--cfg-options {key}={value!r}: {source} has no '
                              f"'{'.'.join(parts[:depth + 1])}' ({what})") from None
        if not isinstance(node, (Mapping, list, tuple)):
            raise ConfigError(f'--cfg-options {key}={value!r}: '
                              f"'{'.'.join(parts[:depth + 1])}' is {_a_type(node)} "
                              f'in {source}, not a section')
    if parts[-1] == '_delete_':
        return
    try:
        old = _child(node, parts[-1])
    except KeyError:
        return  # a new key: a constructor argument the config leaves at its default
    if not _compatible(old, value):
        raise ConfigError(f'--cfg-options {key}={value!r}: {source} has {_a_type(old)} '
                          f'there ({old!r}), got {_a_type(value)}')


def load_config(path, cfg_options=None):
    """The config of ``path`` with ``cfg_options`` merged in.

    Args:
        path: a config file.
        cfg_options: ``--cfg-options`` as DictAction parses them (a dict of
            dotted keys), or a sequence of 'KEY=VALUE' strings; None for none.

    Returns:
        an mmengine ``Config``.

    Raises:
        ConfigError: the file is missing or unreadable, an option names a
            section the config does not have, or gives a value of another
            type than the config's (one line naming the file or option).
    """
    path = str(path)
    if not osp.isfile(path):
        raise ConfigError(f'{path}: config file not found')
    try:
        cfg = Config.fromfile(path)
    except Exception as err:  # a config is Python: any error can come out of it
        raise ConfigError(f'{path}: cannot read this config ({type(err).__name__}: '
                          f'{err})') from err
    options = _parse_options(cfg_options or {})
    for key, value in options.items():
        _check_option(cfg, key, value, path)
    if MAX_EPOCHS_KEY in options:
        rescale_epoch_schedule(cfg, cfg.train_cfg.get('max_epochs'), options[MAX_EPOCHS_KEY])
    if options:
        cfg.merge_from_dict(options)
    return cfg


def innermost_dataset(dataset_cfg):
    """The data-set config inside wrappers (``NegativePairDataset`` ...):
    follows ``dataset`` keys; None for None."""
    while dataset_cfg is not None and 'dataset' in dataset_cfg:
        dataset_cfg = dataset_cfg['dataset']
    return dataset_cfg


def innermost_dataset_key(cfg, loader):
    """The dotted key of ``loader``'s innermost data set, e.g.
    ``'train_dataloader.dataset.dataset'``; None when it has no data set."""
    dataset = (cfg.get(loader) or {}).get('dataset')
    if dataset is None:
        return None
    key = f'{loader}.dataset'
    while 'dataset' in dataset:
        key, dataset = f'{key}.dataset', dataset['dataset']
    return key


def load_run_config(config, cfg_options=None, launcher='none', work_dir=None):
    """:func:`load_config`, then the launcher and the work dir (default
    ``work_dirs/<config name>``), as ``tools/train.py`` and ``tools/test.py``
    run it.

    On CPU a distributed launcher gets its gloo process group here, which
    MMEngine's CUDA-only launcher cannot start (``setup_distributed``).
    """
    cfg = load_config(config, cfg_options)
    cfg.launcher = launcher
    cfg.work_dir = work_dir or cfg.get('work_dir') or osp.join(
        'work_dirs', osp.splitext(osp.basename(config))[0])
    return setup_distributed(cfg)
