"""Time a config's training step or inference, and its data loader on its own.

    python tools/benchmark.py CONFIG --mode train [--iters N] [--out bench.json]
    python tools/benchmark.py CONFIG --mode train --baseline --amp   # all paths, one run
    python tools/benchmark.py CONFIG --mode infer --shape 256 256

The step is timed on synthetic batches (random tensors of the config's
batch and image size), so that the model alone is measured; the data loader
is timed separately on the config's own data set. Every variant (the fast
path, with ``--baseline`` also the straightforward path of FGSB/UNSB, with
``--amp`` each of them in fp32 and under bf16 autocast) runs ``--warmup``
untimed and ``--iters`` timed iterations, interleaved (the order rotates each
iteration) so that load from other processes hits them alike.

The bridge step ``k`` of an FGSB/UNSB iteration decides how many no-grad
generator calls it makes (``k``), so it is pinned (``--step-index``,
default ``(T - 1) / 2`` rounded down: for T=5, k=2, whose cost is exactly
the mean cost over ``k ~ U{0..T-1}``).

Peak memory: the largest ``torch.cuda.max_memory_allocated`` of a variant's
iterations on CUDA; on CPU the peak resident set size (RSS) of a fresh
process that builds the model and runs one warm-up and one timed iteration
of that variant alone (RSS is a high-water mark of the whole process, so
variants cannot share one).

bf16 autocast is only fast on CPUs with native bf16 (AVX512-BF16 or AMX);
elsewhere it is emulated and far slower than fp32: the tool says so.

Output: a table, and with ``--out`` a JSON file whose top-level
``images_per_s``, ``s_per_iter_median``, ``s_per_iter_min``,
``s_per_iter_max`` and ``peak_mem_mb`` are those of the primary variant
(fast path; bf16 with ``--amp``); ``variants`` holds every variant and
``loader`` the data-loader numbers.
"""
import argparse
import copy
import json
import os
import os.path as osp
import platform
import resource
import statistics
import subprocess
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass

import torch
from mmengine.config import Config, DictAction
from mmengine.logging import MessageHub
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

import fgsb.engine  # noqa: F401  (registers components)
import fgsb.models  # noqa: F401
from fgsb.engine.bf16_autocast import enable_bf16_autocast
from fgsb.registry import MODELS
from fgsb.fileio import write_json_atomic


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Benchmark a config')
    parser.add_argument('config', help='config file')
    parser.add_argument('--mode', choices=['train', 'infer'], default='train')
    parser.add_argument('--iters', type=int, default=10, help='timed iterations a variant')
    parser.add_argument('--warmup', type=int, default=2, help='untimed iterations a variant')
    parser.add_argument('--baseline', action='store_true',
                        help='also time the straightforward FGSB/UNSB path (model.fast=False)')
    parser.add_argument('--amp', action='store_true',
                        help='also time every path under bf16 autocast (the primary variant)')
    parser.add_argument('--channels-last', action='store_true',
                        help='networks and inputs in channels_last memory format')
    parser.add_argument('--compile', action='store_true',
                        help='torch.compile the forward of every network')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'),
                        help="image size (default: the config's)")
    parser.add_argument('--batch-size', type=int,
                        help="batch size (default: the config's train or val loader's)")
    parser.add_argument('--step-index', type=int,
                        help='bridge step k of every FGSB/UNSB training iteration')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--threads', type=int, help='torch.set_num_threads on CPU')
    parser.add_argument('--loader-batches', type=int, default=20,
                        help='batches timed for the data loader (0 skips it)')
    parser.add_argument('--loader-workers', type=int,
                        help="num_workers of the loader (default: the config's)")
    parser.add_argument('--no-memory', action='store_true',
                        help='skip the peak-memory measurement')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', help='write the results as JSON here')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. model.generator.ngf=32')
    # internal: the child process that measures one variant's peak RSS
    parser.add_argument('--memory-probe', metavar='VARIANT', help=argparse.SUPPRESS)
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv = argv
    if args.iters < 1 or args.warmup < 0:
        parser.error('--iters must be >= 1 and --warmup >= 0')
    return args


@dataclass(frozen=True)
class Variant:
    """One way to run the step: the FGSB/UNSB path (``None`` for models with
    one path) and the precision."""
    fast: object = True
    bf16: bool = False

    PATHS = {None: 'default', True: 'fast', False: 'baseline'}

    @property
    def name(self):
        return self.PATHS[self.fast] + ('+bf16' if self.bf16 else '')

    @classmethod
    def from_name(cls, name):
        path, _, precision = name.partition('+')
        fast = {v: k for k, v in cls.PATHS.items()}.get(path, 'unknown')
        if fast == 'unknown' or precision not in ('', 'bf16'):
            raise SystemExit(f'error: unknown variant {name!r}')
        return cls(fast, precision == 'bf16')


# --------------------------------------------------------------------- config
def load_config(args):
    if not osp.isfile(args.config):
        raise SystemExit(f'error: config file not found: {args.config}')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    for key in ('model', 'optim_wrapper'):
        if key not in cfg:
            raise SystemExit(f'error: {args.config} has no `{key}` key')
    init_default_scope(cfg.get('default_scope', 'fgsb'))
    return cfg


def innermost_dataset(loader_cfg):
    """The slice data set of a loader config, through wrappers."""
    dataset = (loader_cfg or {}).get('dataset')
    wrappers = []
    while dataset is not None and 'dataset' in dataset:
        wrappers.append(dataset.get('type'))
        dataset = dataset['dataset']
    return dataset, wrappers


def batch_geometry(cfg, args):
    """(batch size, (H, W)) of the benchmark."""
    loader = cfg.get('train_dataloader' if args.mode == 'train' else 'val_dataloader', {})
    dataset, _ = innermost_dataset(loader)
    size = args.shape or [(dataset or {}).get('size')] * 2
    if size[0] is None:
        raise SystemExit(f'error: {args.config} names no image size: give --shape H W')
    batch_size = args.batch_size or loader.get('batch_size') or 1
    return batch_size, tuple(size)


def variants(args, model):
    has_baseline = hasattr(model, 'fast')
    if args.baseline and not has_baseline:
        print(f'note: {type(model).__name__} has no baseline path; --baseline ignored')
    if args.mode == 'infer' and args.baseline:
        print('note: inference is the same on both paths; --baseline ignored')
    if not has_baseline:
        paths = [None]
    elif args.baseline and args.mode == 'train':
        paths = [True, False]
    else:
        paths = [True]
    precisions = [False, True] if args.amp else [False]
    return [Variant(fast, bf16) for bf16 in precisions for fast in paths]


def primary_variant(args, model):
    return Variant(fast=True if hasattr(model, 'fast') else None, bf16=args.amp)


# ---------------------------------------------------------------------- model
class StepRunner:
    """The model, its optimisers (fp32 and bf16) and a synthetic batch."""

    def __init__(self, cfg, args):
        self.args = args
        self.device = torch.device(args.device)
        torch.manual_seed(args.seed)
        self.batch_size, self.shape = batch_geometry(cfg, args)
        self.model = MODELS.build(copy.deepcopy(cfg.model)).to(self.device)
        self.memory_format = (torch.channels_last if args.channels_last
                              else torch.contiguous_format)
        if args.channels_last:
            self.model.to(memory_format=torch.channels_last)
        if args.compile:
            for module in self.model.children():
                if any(True for _ in module.parameters()):
                    module.compile()
        self.optim = {}
        if args.mode == 'train':
            self.optim[False] = build_optim_wrapper(self.model, copy.deepcopy(cfg.optim_wrapper))
            if args.amp:
                amp_cfg = enable_bf16_autocast(Config(dict(
                    optim_wrapper=copy.deepcopy(cfg.optim_wrapper)))).optim_wrapper
                self.optim[True] = build_optim_wrapper(self.model, amp_cfg)
        sampler = getattr(self.model, 'sampler', None)
        self.step_index = None
        if sampler is not None and args.mode == 'train':
            self.step_index = (args.step_index if args.step_index is not None
                               else (sampler.num_steps - 1) // 2)
            if not 0 <= self.step_index < sampler.num_steps:
                raise SystemExit(f'error: --step-index must lie in 0..{sampler.num_steps - 1}')
            # Pinned, so that every variant makes the same number of chain calls.
            sampler.draw_step_index = lambda generator=None: self.step_index
        if getattr(self.model, 'guidance_anneal', None) is not None:
            # The training progress that guidance annealing reads, pinned at the
            # start (the guidance weight changes no cost).
            hub = MessageHub.get_current_instance()
            hub.update_info('iter', 0)
            hub.update_info('max_iters', 1)
        self.batch = self._synthetic_batch(cfg)

    def _synthetic_batch(self, cfg):
        """Random slices in [-1, 1] with the keys the config's loader yields."""
        loader = cfg.get('train_dataloader', {})
        dataset, wrappers = innermost_dataset(loader)
        shape = (self.batch_size, getattr(self.model, 'source_channels', 1), *self.shape)

        def image():
            return (torch.rand(shape) * 2 - 1).contiguous(memory_format=self.memory_format)
        batch = {'source': image(), 'target': image(),
                 'meta': [{} for _ in range(self.batch_size)]}
        # batch 1: the MI estimator's negatives come from a second sample
        if 'NegativePairDataset' in wrappers or (
                self.batch_size == 1 and hasattr(self.model, '_negative_pair')):
            batch.update(source_neg=image(), target_neg=image())
        if (dataset or {}).get('prior') is not None:
            batch['prior'] = (batch['target'] > 0.6).float()
        return batch

    def run(self, variant):
        """One iteration of ``variant``: (wall seconds, CPU seconds of this process)."""
        if variant.fast is not None:
            self.model.fast = variant.fast
        self._synchronize()
        start, cpu_start = time.perf_counter(), time.process_time()
        if self.args.mode == 'train':
            self.model.train()
            self.model.train_step(self.batch, self.optim[variant.bf16])
        else:
            self.model.eval()
            source = self.batch['source'].to(self.device, non_blocking=True)
            autocast = (torch.autocast(self.device.type, dtype=torch.bfloat16)
                        if variant.bf16 else nullcontext())
            with torch.no_grad(), autocast:
                self.model.translate(source)
        self._synchronize()
        return time.perf_counter() - start, time.process_time() - cpu_start

    def _synchronize(self):
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)


# ------------------------------------------------------------------- measuring
def time_variants(runner, chosen, warmup, iters, verbose=True):
    """Interleaved timings: ``{variant: [(wall s, CPU s), ...]}`` and CUDA peaks."""
    times = {v: [] for v in chosen}
    cuda_peak = {v: 0.0 for v in chosen}
    for i in range(warmup + iters):
        shift = i % len(chosen)
        for variant in chosen[shift:] + chosen[:shift]:
            if runner.device.type == 'cuda':
                torch.cuda.reset_peak_memory_stats(runner.device)
            seconds, cpu_seconds = runner.run(variant)
            if runner.device.type == 'cuda':
                cuda_peak[variant] = max(cuda_peak[variant],
                                         torch.cuda.max_memory_allocated(runner.device) / 2**20)
            if i >= warmup:
                times[variant].append((seconds, cpu_seconds))
            if verbose:
                tag = 'warm-up' if i < warmup else f'iter {i - warmup + 1}/{iters}'
                print(f'{tag:>12} {variant.name:<14} {seconds:8.3f} s  (CPU {cpu_seconds:.3f} s)',
                      file=sys.stderr, flush=True)
    return times, cuda_peak


def summarise(timings, batch_size):
    """Wall-time statistics; also the median CPU time of this process, which
    other processes on a shared machine disturb far less than wall time."""
    seconds = [wall for wall, _ in timings]
    median = statistics.median(seconds)
    return {'images_per_s': round(batch_size / median, 4),
            's_per_iter_median': round(median, 6),
            's_per_iter_min': round(min(seconds), 6),
            's_per_iter_max': round(max(seconds), 6),
            'cpu_s_per_iter_median': round(statistics.median(cpu for _, cpu in timings), 6),
            'iters': len(seconds)}


def memory_probe(args):
    """Child process: build the model and run one iteration of one variant
    (the first iteration allocates everything later ones reuse, the
    optimiser states included); print its peak RSS."""
    variant = Variant.from_name(args.memory_probe)
    if args.threads:
        torch.set_num_threads(args.threads)
    args.amp = variant.bf16
    runner = StepRunner(load_config(args), args)
    before = _proc_status_mb('VmRSS')
    runner.run(variant)
    # VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss over from the
    # parent through fork and exec, VmHWM belongs to this process image.
    print(PROBE_TAG + json.dumps({'peak_mem_mb': round(_proc_status_mb('VmHWM'), 1),
                                  'rss_before_step_mb': round(before, 1)}))


PROBE_TAG = 'MEMORY_PROBE '


def _proc_status_mb(field):
    """``VmRSS`` (now) or ``VmHWM`` (peak) of this process, from /proc."""
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_peak_memory(args, variant):
    """Peak RSS of a fresh process that runs ``variant`` alone."""
    command = [sys.executable, osp.abspath(__file__), *args.argv,
               '--memory-probe', variant.name]
    done = subprocess.run(command, capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith(PROBE_TAG)]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f'the memory probe of {variant.name} failed '
                           f'(exit code {done.returncode}):\n{done.stderr[-2000:]}')
    return json.loads(lines[-1][len(PROBE_TAG):])


def measure_loader(cfg, args, num_batches):
    """Batches a second of the config's training loader, with no model."""
    loader_cfg = copy.deepcopy(cfg.train_dataloader)
    if args.loader_workers is not None:
        loader_cfg['num_workers'] = args.loader_workers
    workers = loader_cfg.get('num_workers', 0)
    if workers > 0:
        loader_cfg.setdefault('persistent_workers', True)
    start = time.perf_counter()
    loader = Runner.build_dataloader(loader_cfg, seed=args.seed)
    build_s = time.perf_counter() - start
    iterator = iter(loader)
    start = time.perf_counter()
    next(iterator)  # the first batch pays for starting the workers
    first_s = time.perf_counter() - start
    seconds, images = [], 0
    for _ in range(num_batches):
        start = time.perf_counter()
        try:
            batch = next(iterator)
        except StopIteration:
            iterator = iter(loader)
            batch = next(iterator)
        seconds.append(time.perf_counter() - start)
        images += batch['source'].shape[0]
    total = sum(seconds)
    return {'images_per_s': round(images / total, 2) if total > 0 else float('inf'),
            's_per_batch_median': round(statistics.median(seconds), 5),
            'batch_size': loader_cfg.get('batch_size', 1), 'num_workers': workers,
            'batches': num_batches, 'dataset_build_s': round(build_s, 2),
            'first_batch_s': round(first_s, 3), 'dataset_length': len(loader.dataset)}


# ------------------------------------------------------------------- reporting
def environment(args):
    info = {'device': args.device, 'torch': torch.__version__,
            'threads': torch.get_num_threads(), 'python': platform.python_version()}
    if args.device.startswith('cuda'):
        info['device_name'] = torch.cuda.get_device_name(torch.device(args.device))
    else:
        info['device_name'] = _cpu_name()
        info['cpu_count'] = os.cpu_count()
        info['cpu_native_bf16'] = cpu_has_native_bf16()
    return info


def cpu_has_native_bf16():
    """AVX512-BF16 or AMX-BF16 in /proc/cpuinfo (None where unreadable)."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('flags'):
                    flags = set(line.split(':', 1)[1].split())
                    return bool(flags & {'avx512_bf16', 'amx_bf16'})
    except OSError:
        pass
    return None


def _cpu_name():
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'cpu'


def format_table(result):
    lines = [f"{result['model_type']} {result['mode']}, batch {result['batch_size']}, "
             f"{result['shape'][0]}x{result['shape'][1]}"
             + (f", k={result['step_index']}" if result.get('step_index') is not None else '')
             + f", {result['env']['device_name']}, {result['env']['threads']} threads",
             f"{'variant':<16}{'s/iter med':>11}{'min':>9}{'max':>9}{'img/s':>9}"
             f"{'speed-up':>10}{'CPU s med':>11}{'peak MB':>10}"]
    for name, row in result['variants'].items():
        speedup = row.get('speedup_vs_baseline')
        peak = row.get('peak_mem_mb')
        lines.append(f"{name:<16}{row['s_per_iter_median']:>11.3f}{row['s_per_iter_min']:>9.3f}"
                     f"{row['s_per_iter_max']:>9.3f}{row['images_per_s']:>9.3f}"
                     f"{(f'{speedup:.2f}x' if speedup else '-'):>10}"
                     f"{row['cpu_s_per_iter_median']:>11.3f}"
                     f"{(f'{peak:.0f}' if peak else '-'):>10}")
    loader = result.get('loader')
    if loader:
        lines.append(f"data loader: {loader['images_per_s']} images/s "
                     f"({loader['num_workers']} workers, batch {loader['batch_size']}; "
                     f"first batch {loader['first_batch_s']} s, data set built in "
                     f"{loader['dataset_build_s']} s)")
    return '\n'.join(lines)


def benchmark(args):
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = load_config(args)
    if args.amp and args.device == 'cpu' and cpu_has_native_bf16() is False:
        print('warning: this CPU has no native bf16 (AVX512-BF16/AMX): bf16 autocast is '
              'emulated and slower than fp32 here', file=sys.stderr)
    runner = StepRunner(cfg, args)
    chosen = variants(args, runner.model)
    load_before = os.getloadavg()
    times, cuda_peak = time_variants(runner, chosen, args.warmup, args.iters)
    load_after = os.getloadavg()
    rows = {}
    for variant in chosen:
        rows[variant.name] = summarise(times[variant], runner.batch_size)
        if args.no_memory:
            continue
        if runner.device.type == 'cuda':
            rows[variant.name]['peak_mem_mb'] = round(cuda_peak[variant], 1)
            rows[variant.name]['peak_mem_kind'] = 'cuda max_memory_allocated'
        else:
            rows[variant.name].update(cpu_peak_memory(args, variant))
            rows[variant.name]['peak_mem_kind'] = 'peak RSS of a process running it alone'
    baseline = rows.get(Variant(fast=False).name)
    if baseline:
        for row in rows.values():
            row['speedup_vs_baseline'] = round(
                baseline['s_per_iter_median'] / row['s_per_iter_median'], 3)
            row['cpu_speedup_vs_baseline'] = round(
                baseline['cpu_s_per_iter_median'] / row['cpu_s_per_iter_median'], 3)
    primary = rows[primary_variant(args, runner.model).name]
    result = {'config': args.config, 'model_type': type(runner.model).__name__,
              'mode': args.mode, 'batch_size': runner.batch_size, 'shape': list(runner.shape),
              'step_index': runner.step_index, 'channels_last': args.channels_last,
              'compile': args.compile, 'warmup': args.warmup, 'env': environment(args),
              'load_average_1min': [round(load_before[0], 2), round(load_after[0], 2)],
              'primary_variant': primary_variant(args, runner.model).name, 'variants': rows}
    for key in ('images_per_s', 's_per_iter_median', 's_per_iter_min', 's_per_iter_max',
                'peak_mem_mb'):
        result[key] = primary.get(key)
    if args.loader_batches > 0 and 'train_dataloader' in cfg:
        result['loader'] = measure_loader(cfg, args, args.loader_batches)
        result['loader_keeps_up'] = result['loader']['images_per_s'] >= result['images_per_s']
    return result


def main(argv=None):
    args = parse_args(argv)
    if args.memory_probe:
        return memory_probe(args)
    result = benchmark(args)
    print(format_table(result))
    if args.out:
        write_json_atomic(result, args.out)
    return result


if __name__ == '__main__':
    main()
