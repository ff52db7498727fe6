"""The config of a train or test run, as the command-line tools build it."""
import os.path as osp

from mmengine.config import Config

from .distributed import setup_distributed


def load_run_config(config, cfg_options=None, launcher='none', work_dir=None):
    """Read ``config``, apply ``--cfg-options``, and set the launcher and the
    work dir (default ``work_dirs/<config name>``).

    On CPU a distributed launcher gets its gloo process group here, which
    MMEngine's CUDA-only launcher cannot start (``setup_distributed``).
    """
    if not osp.isfile(config):
        raise SystemExit(f'error: config file not found: {config}')
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    cfg.launcher = launcher
    cfg.work_dir = work_dir or cfg.get('work_dir') or osp.join(
        'work_dirs', osp.splitext(osp.basename(config))[0])
    return setup_distributed(cfg)
