"""Score a trained checkpoint on the test split and write metrics.json.

    python tools/test.py CONFIG CHECKPOINT [--out metrics.json]

The checkpoint must be one of the config's model (strict, weights-only
loading); the output location is checked before the test runs, and a
non-finite metric is an error, not a number in metrics.json.
"""
import argparse
import math
import os.path as osp
import sys

from mmengine.config import DictAction

import fgsb.engine  # noqa: F401  (registers components, allow-lists checkpoints)
from fgsb.apis.output_locations import unwritable_reason
from fgsb.engine.checkpoint_loading import CheckpointError, require_checkpoint_file
from fgsb.engine.precision import add_precision_argument
from fgsb.engine.precision_runner import precision_for_run, report_precision
from fgsb.engine.run_config import ConfigError, load_run_config
from fgsb.engine.runner import ToolboxRunner
from fgsb.evaluation import NonFiniteOutputError
from fgsb.fileio import write_json_atomic
from fgsb.samplers.slice_noise import SAMPLING_MODES

INTERRUPTED = 130  # the shell's code for a Ctrl-C
REPORTED = ('PSNR', 'SSIM', 'NRMSE')
# through-plane consistency (docs/volumes.md), printed too; NaN where a view is
# too thin for SSIM, as a lesion score is NaN without lesions
CONSISTENCY = ('PSNR_coronal', 'SSIM_coronal', 'PSNR_sagittal', 'SSIM_sagittal',
               'through_plane_error')


class OutputError(ValueError):
    """An output that cannot be written, or that would hold non-finite scores."""


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
    parser.add_argument('--sampling', choices=SAMPLING_MODES, default='independent',
                        help="bridge models: how a test subject's slices draw z and the "
                             'bridge noise (docs/volumes.md)')
    parser.add_argument('--slice-correlation', type=float, default=None,
                        help='neighbour correlation rho in (0, 1) of --sampling correlated')
    parser.add_argument('--sampling-seed', type=int, default=0,
                        help='seed of shared/correlated draws')
    add_precision_argument(parser)
    return parser.parse_args()


def summarise(metric, metrics, config, checkpoint, nfe, sampling=None):
    """metrics.json: mean/std a metric (identity baseline apart), per-subject rows,
    and ``sampling`` (mode, correlation, seed) unless the draws were independent."""
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
    if sampling is not None:
        summary['sampling'] = sampling
    return summary


def non_finite_metrics(metrics):
    """The reported metrics (and their identity baselines) that are NaN or infinite."""
    names = [*REPORTED, *(f'identity_{name}' for name in REPORTED)]
    return [f'{name}={metrics[name]}' for name in names
            if name in metrics and not math.isfinite(metrics[name])]


def set_sampling(runner, args):
    """Put the model's test draws in ``--sampling`` mode; the record of it for
    metrics.json, or None for the default independent draws."""
    if args.sampling == 'independent' and args.slice_correlation is None:
        return None
    model = getattr(runner.model, 'module', runner.model)
    try:
        model.set_test_sampling(args.sampling, args.slice_correlation, args.sampling_seed)
    except ValueError as err:
        raise OutputError(f'--sampling {args.sampling}: {err}') from err
    return {'mode': args.sampling, 'slice_correlation': args.slice_correlation,
            'seed': args.sampling_seed}


def run_test(args):
    require_checkpoint_file(args.checkpoint)
    cfg = load_run_config(args.config, args.cfg_options, args.launcher, args.work_dir)
    cfg.load_from, cfg.resume = args.checkpoint, False
    precision = precision_for_run(cfg, args.precision)
    out = args.out or osp.join(cfg.work_dir, 'metrics.json')
    reason = unwritable_reason(out)
    if reason:
        raise OutputError(f'cannot write the metrics: {reason}')

    runner = ToolboxRunner.from_cfg(cfg)
    sampling = set_sampling(runner, args)
    report_precision(precision, cfg.work_dir, 'test')
    metrics = runner.test()
    if runner.rank != 0:
        return
    bad = non_finite_metrics(metrics)
    if bad:
        raise OutputError(f'{args.checkpoint} scores non-finite {", ".join(bad)} '
                          f'(NaN weights or outputs?); {out} not written')
    model = getattr(runner.model, 'module', runner.model)
    summary = summarise(runner.test_evaluator.metrics[0], metrics, args.config,
                        args.checkpoint, model.num_steps, sampling)
    write_json_atomic(summary, out)
    lines = [f'{name}: {summary[name]["mean"]:.4f} +- {summary[name]["std"]:.4f}'
             for name in (*REPORTED, *CONSISTENCY)
             if name in summary and math.isfinite(summary[name]['mean'])]
    print('\n'.join(lines) + f'\nmetrics written to {out}')


def main():
    args = parse_args()
    try:
        run_test(args)
    except KeyboardInterrupt:
        print('interrupted; nothing written', file=sys.stderr)
        sys.exit(INTERRUPTED)
    except (ConfigError, CheckpointError, OutputError, NonFiniteOutputError) as err:
        raise SystemExit(f'error: {err}') from None


if __name__ == '__main__':
    main()
