"""Train any toolbox config with the toolbox's Runner (MMEngine's, with
strict weights-only loading and checked resume: docs/guarantees.md).

    python tools/train.py configs/fgsb/fgsb_phantom_2subj.py
    python tools/train.py CONFIG --resume            # latest checkpoint of the work dir
    python tools/train.py CONFIG --resume PATH.pth   # a given checkpoint
"""
import argparse
import os
import os.path as osp
import sys

from mmengine.config import DictAction

import fgsb.engine  # noqa: F401  (registers components, allow-lists checkpoints)
from fgsb.engine.checkpoint_loading import CheckpointError, require_checkpoint_file
from fgsb.engine.finite_guard import NonFiniteTrainingError
from fgsb.engine.precision import add_precision_argument
from fgsb.engine.precision_runner import precision_for_run, report_precision
from fgsb.engine.run_config import ConfigError, load_run_config
from fgsb.engine.runner import ToolboxRunner

INTERRUPTED = 130  # the shell's code for a Ctrl-C


def parse_args():
    parser = argparse.ArgumentParser(description='Train a synthesis model')
    parser.add_argument('config', help='config file')
    parser.add_argument('--work-dir', help='where logs and checkpoints go '
                        '(default: work_dirs/<config name>)')
    parser.add_argument('--resume', nargs='?', const='auto', default=None,
                        metavar='CKPT', help='resume from CKPT, or from the latest '
                        'checkpoint of the work dir when no path is given')
    add_precision_argument(parser, amp_alias=True)
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
        require_checkpoint_file(args.resume)
        cfg.resume, cfg.load_from = True, args.resume
    return cfg, precision_for_run(cfg, args.precision)


def main():
    args = parse_args()
    try:
        cfg, precision = build_config(args)
        runner = ToolboxRunner.from_cfg(cfg)
        report_precision(precision, cfg.work_dir, 'train')
        runner.train()
    except KeyboardInterrupt:
        print('interrupted; resume with --resume', file=sys.stderr)
        sys.exit(INTERRUPTED)
    except (ConfigError, CheckpointError, NonFiniteTrainingError) as err:
        raise SystemExit(f'error: {err}') from None


if __name__ == '__main__':
    main()
