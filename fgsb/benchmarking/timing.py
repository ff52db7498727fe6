"""Interleaved timing of several variants, and their statistics."""
import statistics
import sys

import torch


def time_variants(runner, variants, warmup, iters):
    """``{variant: [(wall s, CPU s), ...]}`` of the timed iterations, and the
    CUDA peak memory (MB) of each variant.

    Each round runs every variant once, the order rotating round by round,
    so that load from other processes hits them alike.
    """
    times = {v: [] for v in variants}
    cuda_peak = {v: 0.0 for v in variants}
    on_cuda = runner.device.type == 'cuda'
    for i in range(warmup + iters):
        shift = i % len(variants)
        for variant in variants[shift:] + variants[:shift]:
            if on_cuda:
                torch.cuda.reset_peak_memory_stats(runner.device)
            seconds, cpu_seconds = runner.run(variant)
            if on_cuda:
                cuda_peak[variant] = max(cuda_peak[variant],
                                         torch.cuda.max_memory_allocated(runner.device) / 2**20)
            if i >= warmup:
                times[variant].append((seconds, cpu_seconds))
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
