"""Score a trained checkpoint on the test split and write metrics.json.

    python tools/test.py CONFIG CHECKPOINT [--out metrics.json]
"""
import argparse
import os.path as osp

from mmengine.config import DictAction
from mmengine.runner import Runner

import fgsb.engine  # noqa: F401  (registers components, allow-lists checkpoints)
from fgsb.engine.run_config import load_run_config
from fgsb.fileio import write_json_atomic


def parse_args():
    parser = argparse.ArgumentParser(description='Test a synthesis model')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', default=None,
                        help='metrics JSON (default: <work dir>/metrics.json)')
    parser.add_argument('--work-dir', help='where the test log goes')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. model.sampler.num_steps=3')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none')
    return parser.parse_args()


def summarise(metric, metrics, config, checkpoint, nfe):
    """The metrics.json of DESIGN.md: mean/std a metric, per-subject rows."""
    summary = {}
    for name, value in metrics.items():
        if name.endswith('_std'):
            continue
        base = name
        group = summary
        if name.startswith('identity_'):
            group = summary.setdefault('identity_baseline', {})
            base = name[len('identity_'):]
        group[base] = {'mean': value, 'std': metrics.get(f'{name}_std', 0.0)}
    summary['per_subject'] = metric.per_subject
    summary.update(config=config, checkpoint=checkpoint, nfe=nfe)
    return summary


def main():
    args = parse_args()
    if not osp.isfile(args.checkpoint):
        raise SystemExit(f'error: checkpoint file not found: {args.checkpoint}')
    cfg = load_run_config(args.config, args.cfg_options, args.launcher, args.work_dir)
    cfg.load_from, cfg.resume = args.checkpoint, False

    runner = Runner.from_cfg(cfg)
    metrics = runner.test()
    if runner.rank != 0:
        return
    metric = runner.test_evaluator.metrics[0]
    model = getattr(runner.model, 'module', runner.model)
    nfe = model.sampler.num_steps if hasattr(model, 'sampler') else 1
    summary = summarise(metric, metrics, args.config, args.checkpoint, nfe)
    out = args.out or osp.join(cfg.work_dir, 'metrics.json')
    write_json_atomic(summary, out)
    lines = [f'{name}: {summary[name]["mean"]:.4f} +- {summary[name]["std"]:.4f}'
             for name in ('PSNR', 'SSIM', 'NRMSE')]
    print('\n'.join(lines) + f'\nmetrics written to {out}')


if __name__ == '__main__':
    main()
