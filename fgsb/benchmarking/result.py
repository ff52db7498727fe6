"""One benchmark end to end: time the variants, add memory and the loader,
and the result as a dict (the JSON) and as a table."""
import os
import sys

from fgsb.engine.precision import native_bf16
from .environment import environment
from .loader_timing import measure_loader
from .memory_probe import cpu_peak_memory
from .step_runner import StepRunner
from .timing import summarise, time_variants
from .variants import BASELINE, Variant, chosen_variants, primary_variant

PRIMARY_KEYS = ('images_per_s', 's_per_iter_median', 's_per_iter_min', 's_per_iter_max',
                'peak_mem_mb')


def benchmark(cfg, settings, config_name, warmup, iters, memory_command=None,
              loader_batches=0, loader_workers=None):
    """Time every variant of ``settings`` on ``cfg``'s model.

    ``memory_command`` is the command line that reruns this benchmark (on
    CPU a child process measures each variant's peak RSS; on CUDA it is not
    run); None skips the peak memory. ``loader_batches`` > 0 also times the
    training loader.
    """
    if settings.precision.is_bf16 and not native_bf16(settings.device):
        print(f'warning: {settings.precision.reason}', file=sys.stderr)
    runner = StepRunner(cfg, settings)
    variants, notes = chosen_variants(settings, runner.model)
    for note in notes:
        print(f'note: {note}')
    load_before = os.getloadavg()
    times, cuda_peak = time_variants(runner, variants, warmup, iters)
    load_after = os.getloadavg()
    rows = {}
    for variant in variants:
        row = rows[variant.name] = summarise(times[variant], runner.batch_size)
        if memory_command is None:
            continue
        if runner.device.type == 'cuda':
            row.update(peak_mem_mb=round(cuda_peak[variant], 1),
                       peak_mem_kind='cuda max_memory_allocated')
        else:
            row.update(cpu_peak_memory(memory_command, variant))
            row['peak_mem_kind'] = 'peak RSS of a process running it alone'
    add_speedups(rows)
    primary = primary_variant(settings, runner.model).name
    result = {'config': config_name, 'model_type': type(runner.model).__name__,
              'mode': settings.mode, 'batch_size': runner.batch_size,
              'shape': list(runner.shape), 'step_index': runner.step_index,
              'channels_last': settings.channels_last, 'compile': settings.compile,
              'warmup': warmup, 'env': environment(settings.device),
              'load_average_1min': [round(load_before[0], 2), round(load_after[0], 2)],
              'primary_variant': primary, 'precision': settings.precision.as_dict(),
              'variants': rows}
    for key in PRIMARY_KEYS:
        result[key] = rows[primary].get(key)
    if loader_batches > 0 and 'train_dataloader' in cfg:
        result['loader'] = measure_loader(cfg, loader_batches, settings.seed, loader_workers)
        result['loader_keeps_up'] = result['loader']['images_per_s'] >= result['images_per_s']
    return result


def add_speedups(rows):
    """Each row's speed-up over the fp32 baseline row, where there is one."""
    baseline = rows.get(Variant(BASELINE).name)
    if not baseline:
        return
    for row in rows.values():
        row['speedup_vs_baseline'] = round(
            baseline['s_per_iter_median'] / row['s_per_iter_median'], 3)
        row['cpu_speedup_vs_baseline'] = round(
            baseline['cpu_s_per_iter_median'] / row['cpu_s_per_iter_median'], 3)


def format_table(result):
    """The result as the table the tool prints."""
    k = result.get('step_index')
    lines = [f"{result['model_type']} {result['mode']}, batch {result['batch_size']}, "
             f"{result['shape'][0]}x{result['shape'][1]}"
             + (f', k={k}' if k is not None else '')
             + f", {result['env']['device_name']}, {result['env']['threads']} threads",
             f"precision: {result['precision']['precision']} ({result['precision']['reason']})",
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
