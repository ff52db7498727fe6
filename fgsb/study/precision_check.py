"""The bf16 quality check: the same training in fp32 and in bf16, seed for seed.

Each run trains one config with ``tools/train.py --precision P`` and
``randomness.seed=S``, validating every epoch on subjects carved from the
training split (the learning curve; never the test split), then scores its
last checkpoint on the test split with ``tools/test.py --precision fp32``,
so that only the training precision differs between the two arms.
``tools/check_precision.py`` is the command; docs/benchmarks.md has the
numbers and the rule that decides the default precision.
"""
import json
import statistics
from dataclasses import dataclass
from pathlib import Path

from fgsb.engine.resume_checkpoint import recorded_checkpoint
from fgsb.engine.run_config import innermost_dataset_key, load_config
from fgsb.fileio import atomic_path, write_json_atomic
from .records import read_json
from .runner import ROOT, command_line, run_tool

# The two quick-start models of the README.
MODELS = {'fgsb': 'configs/fgsb/fgsb_phantom_2subj.py',
          'pix2pix': 'configs/pix2pix/pix2pix_resnet_phantom_2subj.py'}
PRECISIONS = ('fp32', 'bf16')
RECORD, TEST_METRICS = 'precision_record.json', 'test_metrics.json'


@dataclass(frozen=True)
class PrecisionRun:
    """One training of ``model`` (a key of ``MODELS``) in ``precision`` with ``seed``."""
    model: str
    precision: str
    seed: int

    @property
    def name(self):
        return f'{self.model}_{self.precision}_seed{self.seed}'

    @property
    def config(self):
        return MODELS[self.model]


def plan_runs(models, seeds):
    """Every (model, precision, seed) run, fp32 and bf16 side by side."""
    return [PrecisionRun(m, p, int(s)) for m in models for s in seeds for p in PRECISIONS]


def train_options(config, val_subjects, seed):
    """--cfg-options of a run: validation carved from train, every epoch; the seed."""
    cfg = load_config(str(ROOT / config))
    train_key = innermost_dataset_key(cfg, 'train_dataloader')
    val_key = innermost_dataset_key(cfg, 'val_dataloader')
    return [f'{train_key}.val_subjects={val_subjects}', f'{val_key}.split=val',
            f'{val_key}.val_subjects={val_subjects}', 'train_cfg.val_interval=1',
            f'randomness.seed={seed}']


def run_one(run, work_root, settings, val_subjects=2):
    """Train (unless its record says trained) and test one run; write its record."""
    work_dir = Path(work_root) / run.name
    record_path = work_dir / RECORD
    record = read_json(record_path) if record_path.is_file() else {}
    if 'train_seconds' not in record:
        args = [run.config, '--work-dir', str(work_dir), '--precision', run.precision,
                '--cfg-options', *train_options(run.config, val_subjects, run.seed)]
        if recorded_checkpoint(work_dir) is not None:
            args.append('--resume')
        print(f'[precision] {run.name}: training', flush=True)
        seconds, cpu = run_tool('train.py', args, settings)
        record.update(run=run.name, train_seconds=seconds, train_cpu_seconds=cpu,
                      train_command=command_line('train.py', args))
        write_json_atomic(record, record_path)
    checkpoint = recorded_checkpoint(work_dir)
    if checkpoint is None:
        raise RuntimeError(f'{work_dir}: training left no checkpoint')
    args = [run.config, str(checkpoint), '--work-dir', str(work_dir / 'test'),
            '--precision', 'fp32', '--out', str(work_dir / TEST_METRICS)]
    print(f'[precision] {run.name}: testing {checkpoint}', flush=True)
    run_tool('test.py', args, settings)
    record.update(test_command=command_line('test.py', args), checkpoint=str(checkpoint))
    write_json_atomic(record, record_path)


def learning_curve(work_dir, metric='PSNR'):
    """``[(epoch, value)]`` of the in-training validation, from the newest
    ``vis_data/scalars.json`` that holds ``metric`` (a resumed run appends a new one)."""
    curves = []
    for path in sorted(Path(work_dir).glob('*/vis_data/scalars.json')):
        points = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        curves += [(int(p['step']), float(p[metric])) for p in points if metric in p]
    by_epoch = dict(curves)  # a resumed run's later entries replace the earlier ones
    return sorted(by_epoch.items())


def collect(work_root, runs):
    """One dict a finished run: the run, its curve, test PSNR/SSIM, train seconds."""
    rows = []
    for run in runs:
        work_dir = Path(work_root) / run.name
        metrics_path = work_dir / TEST_METRICS
        if not metrics_path.is_file():
            continue
        metrics = read_json(metrics_path)
        record_path = work_dir / RECORD
        record = read_json(record_path) if record_path.is_file() else {}
        curve = learning_curve(work_dir)
        rows.append(dict(run=run, curve=curve, val_psnr=curve[-1][1] if curve else None,
                         test_psnr=metrics['PSNR']['mean'], test_ssim=metrics['SSIM']['mean'],
                         train_seconds=record.get('train_seconds')))
    return rows


def mean_std(values):
    """Mean and sample standard deviation (0 for one value)."""
    values = [v for v in values if v is not None]
    if not values:
        return None, None
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def summary_table(rows):
    """Markdown: per model and precision, the mean +- std over seeds of the
    final validation PSNR, the test PSNR and SSIM, and the training time;
    then bf16 minus fp32 beside the fp32 spread over seeds."""
    lines = ['| model | precision | seeds | val PSNR (dB) | test PSNR (dB) | test SSIM | '
             'train wall (s) |', '|---|---|---:|---:|---:|---:|---:|']
    differences = []
    for model in MODELS:
        arms = {}
        for precision in PRECISIONS:
            own = [r for r in rows if r['run'].model == model and r['run'].precision == precision]
            if not own:
                continue
            arms[precision] = own
            cells = [mean_std([r[key] for r in own])
                     for key in ('val_psnr', 'test_psnr', 'test_ssim', 'train_seconds')]
            digits = (2, 2, 4, 0)
            text = [f'{m:.{d}f} ± {s:.{d}f}' if m is not None else '' for (m, s), d in
                    zip(cells, digits)]
            seeds = ', '.join(str(r['run'].seed) for r in own)
            lines.append(f'| {model} | {precision} | {seeds} | ' + ' | '.join(text) + ' |')
        if len(arms) == 2:
            fp32, bf16 = (mean_std([r['test_psnr'] for r in arms[p]]) for p in PRECISIONS)
            differences.append(f'- {model}: test PSNR bf16 - fp32 = {bf16[0] - fp32[0]:+.3f} dB; '
                               f'fp32 spread over seeds (std) {fp32[1]:.3f} dB')
    return '\n'.join(lines + [''] + differences) + '\n'


def plot_curves(rows, path):
    """Validation PSNR against epoch, one line a run: a colour a seed, fp32
    solid, bf16 dashed."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    models = [m for m in MODELS if any(r['run'].model == m for r in rows)]
    fig, axes = plt.subplots(1, len(models), figsize=(5 * len(models), 3.6), squeeze=False)
    for ax, model in zip(axes[0], models):
        for row in (r for r in rows if r['run'].model == model):
            epochs, values = zip(*row['curve']) if row['curve'] else ((), ())
            ax.plot(epochs, values, '-' if row['run'].precision == 'fp32' else '--',
                    color=f"C{row['run'].seed % 10}", marker='o',
                    label=f"{row['run'].precision} seed {row['run'].seed}")
        ax.set(title=f'{model}: validation PSNR', xlabel='epoch', ylabel='PSNR (dB)')
        ax.legend(fontsize=7)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format='png', dpi=100)
    plt.close(fig)
