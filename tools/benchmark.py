"""Time a config's training step or inference, and its data loader on its own.

    python tools/benchmark.py CONFIG --mode train [--iters N] [--out bench.json]
    python tools/benchmark.py CONFIG --mode train --baseline --amp   # all paths, one run
    python tools/benchmark.py CONFIG --mode infer --shape 256 256 --precision auto

The step is timed on synthetic batches (random tensors of the config's
batch and image size), so that the model alone is measured; the data loader
is timed separately on the config's own data set. Every variant (the fast
path; with ``--baseline`` also the straightforward FGSB/UNSB step; with
``--amp`` each of them in fp32 and under bf16 autocast, otherwise in the
one ``--precision``) runs ``--warmup`` untimed and ``--iters`` timed
iterations, interleaved so that load from other processes hits them alike.

The bridge step ``k`` of an FGSB/UNSB iteration decides how many no-grad
generator calls it makes (``k``), so it is pinned (``--step-index``,
default ``(T - 1) / 2`` rounded down: for T=5, k=2, whose cost is exactly
the mean cost over ``k ~ U{0..T-1}``).

Peak memory: the largest ``torch.cuda.max_memory_allocated`` of a variant's
iterations on CUDA; on CPU the peak RSS of a fresh process that runs that
variant alone (``fgsb.benchmarking.memory_probe``).

Output: a table, and with ``--out`` a JSON file whose top-level
``images_per_s``, ``s_per_iter_median``, ``s_per_iter_min``,
``s_per_iter_max`` and ``peak_mem_mb`` are those of the primary variant
(fast path, in ``--precision``; bf16 with ``--amp``), ``precision`` says
which precision that is and why, ``variants`` holds every variant and
``loader`` the data-loader numbers. The code lives in ``fgsb.benchmarking``.
"""
import argparse
import os.path as osp
import sys

import torch
from mmengine.registry import init_default_scope

import fgsb.engine  # noqa: F401  (registers components)
import fgsb.models  # noqa: F401
from fgsb.benchmarking import (BenchmarkError, BenchmarkSettings, StepRunner, Variant,
                               benchmark, format_table, probe_report)
from fgsb.engine.precision import (add_precision_argument, requested_precision,
                                   resolve_precision)
from fgsb.engine.run_config import ConfigError, load_config
from fgsb.fileio import write_json_atomic


def count(minimum):
    """An argparse type: an int of at least ``minimum``."""
    def parse(text):
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f'must be >= {minimum}, got {value}')
        return value
    parse.__name__ = 'int'  # argparse names the type in "invalid int value"
    return parse


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Benchmark a config')
    parser.add_argument('config', help='config file')
    parser.add_argument('--mode', choices=['train', 'infer'], default='train')
    parser.add_argument('--iters', type=count(1), default=10, help='timed iterations a variant')
    parser.add_argument('--warmup', type=count(0), default=2,
                        help='untimed iterations a variant')
    parser.add_argument('--baseline', action='store_true',
                        help='also time the straightforward FGSB/UNSB training step')
    parser.add_argument('--amp', action='store_true',
                        help='time every path in fp32 and under bf16 autocast (the primary)')
    add_precision_argument(parser)
    parser.add_argument('--channels-last', action='store_true',
                        help='networks and inputs in channels_last memory format')
    parser.add_argument('--compile', action='store_true',
                        help='torch.compile the forward of every network')
    parser.add_argument('--shape', type=count(1), nargs=2, metavar=('H', 'W'),
                        help="image size (default: the config's)")
    parser.add_argument('--batch-size', type=count(1),
                        help="batch size (default: the config's train or val loader's)")
    parser.add_argument('--step-index', type=int,
                        help='bridge step k of every FGSB/UNSB training iteration')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--threads', type=count(1), help='torch.set_num_threads on CPU')
    parser.add_argument('--loader-batches', type=count(0), default=20,
                        help='batches timed for the data loader (0 skips it)')
    parser.add_argument('--loader-workers', type=count(0),
                        help="num_workers of the loader (default: the config's)")
    parser.add_argument('--no-memory', action='store_true',
                        help='skip the peak-memory measurement')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', help='write the results as JSON here')
    parser.add_argument('--cfg-options', nargs='+', metavar='KEY=VALUE',
                        help='override config keys, e.g. model.generator.ngf=32')
    # internal: the child process that measures one variant's peak RSS
    parser.add_argument('--memory-probe', metavar='VARIANT', help=argparse.SUPPRESS)
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    if args.amp and args.precision is not None:
        parser.error('--amp times fp32 and bf16 both: leave out --precision')
    args.argv = argv
    return args


def read_config(args):
    try:
        cfg = load_config(args.config, args.cfg_options)
    except ConfigError as err:
        raise SystemExit(f'error: {err}') from err
    for key in ('model', 'optim_wrapper'):
        if key not in cfg:
            raise SystemExit(f'error: {args.config} has no `{key}` key')
    init_default_scope(cfg.get('default_scope', 'fgsb'))
    return cfg


def settings_of(args, precision, amp):
    return BenchmarkSettings(
        mode=args.mode, device=args.device, seed=args.seed, precision=precision,
        amp=amp, baseline=args.baseline, channels_last=args.channels_last,
        compile=args.compile, shape=tuple(args.shape) if args.shape else None,
        batch_size=args.batch_size, step_index=args.step_index)


def chosen_precision(args, cfg):
    """bf16 with --amp (fp32 is timed beside it), else --precision or the config's."""
    try:
        requested = 'bf16' if args.amp else requested_precision(args.precision, cfg)
        return resolve_precision(requested, args.device)
    except ValueError as err:  # a bad `precision` key, or bf16 on a CUDA device without it
        raise BenchmarkError(str(err)) from err


def memory_probe(args, cfg):
    """The child process: one iteration of one variant alone; print its peak RSS."""
    variant = Variant.from_name(args.memory_probe)
    precision = resolve_precision('bf16' if variant.bf16 else 'fp32', args.device)
    print(probe_report(StepRunner(cfg, settings_of(args, precision, amp=False)), variant))


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = read_config(args)
    try:
        if args.memory_probe:
            return memory_probe(args, cfg)
        settings = settings_of(args, chosen_precision(args, cfg), args.amp)
        memory_command = None if args.no_memory else [sys.executable, osp.abspath(__file__),
                                                      *args.argv]
        result = benchmark(cfg, settings, args.config, args.warmup, args.iters,
                           memory_command, args.loader_batches, args.loader_workers)
    except BenchmarkError as err:
        raise SystemExit(f'error: {args.config}: {err}') from err
    print(format_table(result))
    if args.out:
        write_json_atomic(result, args.out)
    return result


if __name__ == '__main__':
    main()
