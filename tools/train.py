"""Train any toolbox config with MMEngine's Runner.

    python tools/train.py configs/fgsb/fgsb_phantom_2subj.py
    python tools/train.py CONFIG --resume            # latest checkpoint of the work dir
    python tools/train.py CONFIG --resume PATH.pth   # a given checkpoint
"""
import argparse
import os
import os.path as osp

from mmengine.config import DictAction
from mmengine.runner import Runner

import fgsb.engine  # noqa: F401  (registers components, allow-lists checkpoints)
from fgsb.engine.bf16_autocast import enable_bf16_autocast
from fgsb.engine.run_config import load_run_config


def parse_args():
    parser = argparse.ArgumentParser(description='Train a synthesis model')
    parser.add_argument('config', help='config file')
    parser.add_argument('--work-dir', help='where logs and checkpoints go '
                        '(default: work_dirs/<config name>)')
    parser.add_argument('--resume', nargs='?', const='auto', default=None,
                        metavar='CKPT', help='resume from CKPT, or from the latest '
                        'checkpoint of the work dir when no path is given')
    parser.add_argument('--amp', action='store_true',
                        help='bf16 autocast on CPU or CUDA (see docs/benchmarks.md)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. train_cfg.max_epochs=2')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher for distributed training')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def build_config(args):
    cfg = load_run_config(args.config, args.cfg_options, args.launcher, args.work_dir)
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        if not osp.isfile(args.resume):
            raise SystemExit(f'error: checkpoint not found: {args.resume}')
        cfg.resume, cfg.load_from = True, args.resume
    if args.amp:
        enable_bf16_autocast(cfg)
    return cfg


def main():
    args = parse_args()
    runner = Runner.from_cfg(build_config(args))
    runner.train()


if __name__ == '__main__':
    main()
