"""The phantom study: train and test a list of experiments, collect their metrics.

    python tools/run_study.py                         # every experiment, resumable
    python tools/run_study.py --only fgsb_t2_2subj pix2pix_t2_2subj
    python tools/run_study.py --list                  # the manifest, nothing runs
    python tools/run_study.py --collect-only --figure # tables and figures of finished runs
    python tools/run_study.py --validation 2          # tune on 2 subjects carved from train

Each experiment trains with ``tools/train.py`` into ``<work root>/<name>`` and
is scored with ``tools/test.py`` (``metrics.json``). An experiment whose
``metrics.json`` exists is skipped unless ``--force``; an interrupted training
resumes from its last checkpoint. ``--cfg-options`` go to every run (after the
study's own), so a test can shrink everything. The CSV and the Markdown
tables hold every finished experiment of the manifest and are written
atomically; ``docs/results.md`` is filled between its study markers.
"""
import argparse
import csv
import datetime
import io
import json
import os
import os.path as osp
import resource
import runpy
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from fgsb.fileio import write_json_atomic, write_text_atomic

ROOT = Path(__file__).resolve().parents[1]
T2, FLAIR = 'T1->T2', 'T1->FLAIR'


@dataclass(frozen=True)
class Experiment:
    """One row of the study: a config run at the CPU size on the phantom.

    ``train_subjects`` is the design (2, or all 8 training subjects); the
    CSV reports the number the run really used (fewer under --validation).
    """
    name: str
    label: str
    config: str
    task: str
    train_subjects: int
    group: str
    # Another experiment whose config this one is: its run is reported here
    # too instead of training the same config twice.
    same_as: str = ''

    @property
    def run_name(self):
        return self.same_as or self.name


MAIN_T2, MAIN_FLAIR, ABLATION = 'T1->T2', 'T1->FLAIR with lesions', 'Ablations (T1->FLAIR, 2)'
EXPERIMENTS = (
    # Pix2Pix (n) is the paper's Pix2Pix: the ResNet-9 generator (Table 6's 14.12 M
    # parameters) at FGSB's width. The U-Net rows are the pix2pix paper's own
    # generator, kept as a second, differently built baseline.
    Experiment('pix2pix_t2_2subj', 'Pix2Pix (2)', 'configs/pix2pix/pix2pix_resnet_phantom_2subj.py',
               T2, 2, MAIN_T2),
    Experiment('pix2pix_unet_t2_2subj', 'Pix2Pix U-Net (2)',
               'configs/pix2pix/pix2pix_phantom_2subj.py', T2, 2, MAIN_T2),
    Experiment('pix2pix_t2_all', 'Pix2Pix (all)', 'configs/study/pix2pix_phantom_t2_all.py',
               T2, 8, MAIN_T2),
    Experiment('unsb_t2_2subj', 'UNSB (2)', 'configs/unsb/unsb_phantom_2subj.py', T2, 2, MAIN_T2),
    Experiment('fgsb_t2_2subj', 'FGSB (2)', 'configs/fgsb/fgsb_phantom_2subj.py', T2, 2, MAIN_T2),
    Experiment('fgsb_t2_all', 'FGSB (all)', 'configs/study/fgsb_phantom_t2_all.py', T2, 8, MAIN_T2),
    # Not METHOD.md: every bridge step also reads the source (docs/results.md,
    # "Why FGSB (2) trails Pix2Pix (2)"), chosen on validation subjects.
    Experiment('fgsb_srccond_t2_2subj', 'FGSB (2), source-conditioned',
               'configs/study/fgsb_phantom_source_conditioned_2subj.py', T2, 2, MAIN_T2),
    Experiment('pix2pix_flair_2subj', 'Pix2Pix (2)',
               'configs/study/pix2pix_phantom_flair_2subj.py', FLAIR, 2, MAIN_FLAIR),
    Experiment('pix2pix_unet_flair_2subj', 'Pix2Pix U-Net (2)',
               'configs/study/pix2pix_unet_phantom_flair_2subj.py', FLAIR, 2, MAIN_FLAIR),
    Experiment('fgsb_flair_2subj', 'FGSB (2), no prior',
               'configs/ablations/fgsb_flair_no_prior.py', FLAIR, 2, MAIN_FLAIR),
    Experiment('fgsb_flair_prior_2subj', 'FGSB (2), threshold prior',
               'configs/fgsb/fgsb_phantom_flair_prior_2subj.py', FLAIR, 2, MAIN_FLAIR),
    Experiment('fgsb_srccond_flair_prior_2subj', 'FGSB (2), prior, source-conditioned',
               'configs/study/fgsb_phantom_flair_prior_source_conditioned_2subj.py', FLAIR, 2,
               MAIN_FLAIR),
    # The ablations start from the prior configuration (NFE 5) and change one thing;
    # NFE 5 is that configuration itself, so its row reports that run.
    *(Experiment(f'ablation_{key}', label, f'configs/ablations/fgsb_flair_prior_{key}.py',
                 FLAIR, 2, ABLATION)
      for key, label in (('no_noise', 'w/o noise'), ('no_ssl', 'w/o SSL-D'),
                         ('no_mi', 'w/o MI'), ('no_iterative', 'w/o iterative process'),
                         ('nfe1', 'NFE 1'), ('nfe3', 'NFE 3'))),
    Experiment('ablation_nfe5', 'NFE 5 (the full model)',
               'configs/fgsb/fgsb_phantom_flair_prior_2subj.py', FLAIR, 2, ABLATION,
               same_as='fgsb_flair_prior_2subj'),
    Experiment('ablation_nfe7', 'NFE 7', 'configs/ablations/fgsb_flair_prior_nfe7.py',
               FLAIR, 2, ABLATION),
)
BY_NAME = {e.name: e for e in EXPERIMENTS}
CSV_COLUMNS = ('experiment', 'task', 'train_subjects', 'PSNR_mean', 'PSNR_std', 'SSIM_mean',
               'SSIM_std', 'NRMSE_mean', 'NRMSE_std', 'Dice_mean', 'Recall_mean',
               'train_seconds')
RECORD, METRICS = 'study_record.json', 'metrics.json'
MARKERS = ('<!-- study-results:start -->', '<!-- study-results:end -->')
# In-training validation would score the test split (the configs' val loader)
# for nothing: tools/test.py does that once, afterwards.
NO_IN_TRAINING_VALIDATION = 'train_cfg.val_begin=1000000000'


# ---------------------------------------------------------------- options
def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Run the phantom study (train, test, collect)')
    parser.add_argument('--only', nargs='+', metavar='NAME', help='run only these experiments')
    parser.add_argument('--work-root', default=None,
                        help='one work dir a experiment under it (default: '
                        'work_dirs/phantom_study, or work_dirs/phantom_study_val)')
    parser.add_argument('--out-dir', default='docs/results',
                        help='where the CSV, the Markdown table and the figures go')
    parser.add_argument('--results-doc', default='docs/results.md',
                        help="Markdown file whose study markers get the tables ('' : none)")
    parser.add_argument('--force', action='store_true',
                        help='delete and redo experiments that have finished')
    parser.add_argument('--collect-only', action='store_true',
                        help='run nothing; write tables (and figures) of finished runs')
    parser.add_argument('--figure', action='store_true',
                        help='also draw the same test slices of every method (PNG)')
    parser.add_argument('--validation', type=int, default=0, metavar='N',
                        help='carve N validation subjects out of the train split and '
                        'score them instead of the test split (for tuning)')
    parser.add_argument('--in-process', action='store_true',
                        help='run the tools in this process (fast start, for tests)')
    parser.add_argument('--threads', type=int, default=1,
                        help='CPU threads a run (default 1: on a shared 2-core machine '
                        'two OpenMP threads made an iteration 4-40x slower)')
    parser.add_argument('--list', action='store_true', help='print the manifest and exit')
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help='passed to every train and test run, after the study\'s own')
    args = parser.parse_args(argv)
    if args.validation < 0:
        parser.error('--validation must be >= 0')
    if args.threads < 1:
        parser.error('--threads must be >= 1')
    suffix = '_val' if args.validation else ''
    args.work_root = Path(args.work_root or f'work_dirs/phantom_study{suffix}')
    args.out_dir = Path(args.out_dir)
    args.stem = f'phantom_study{suffix}'
    known = {e.name for e in EXPERIMENTS}
    unknown = sorted(set(args.only or ()) - known)
    if unknown:
        parser.error(f'unknown experiment(s) {", ".join(unknown)}; known: '
                     f'{", ".join(e.name for e in EXPERIMENTS)}')
    return args


def merged_config(config, options):
    """The config as ``tools/train.py`` sees it with ``options`` (KEY=VALUE strings)."""
    from mmengine.config import Config, DictAction

    cfg = Config.fromfile(str(config))
    if options:
        parser = argparse.ArgumentParser()
        parser.add_argument('--cfg-options', nargs='+', action=DictAction)
        cfg.merge_from_dict(parser.parse_args(['--cfg-options', *options]).cfg_options)
    return cfg


def dataset_paths(cfg):
    """``{loader: (dotted path, dict)}`` of the slice data set of each loader (through wrappers)."""
    paths = {}
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        path, dataset = f'{loader}.dataset', cfg[loader]['dataset']
        while 'dataset' in dataset:
            path, dataset = f'{path}.dataset', dataset['dataset']
        paths[loader] = (path, dataset)
    return paths


def study_options(experiment, args):
    """The --cfg-options of one experiment's runs: the study's, then the user's."""
    options = [NO_IN_TRAINING_VALIDATION]
    if experiment.task == FLAIR:
        options.append('test_evaluator.type=LesionPreservationMetric')
    if args.validation:
        # Same seed in every data set, so train and val carve the same subjects.
        paths = dataset_paths(merged_config(ROOT / experiment.config, args.cfg_options))
        options.append(f'{paths["train_dataloader"][0]}.val_subjects={args.validation}')
        for loader in ('val_dataloader', 'test_dataloader'):
            options += [f'{paths[loader][0]}.split=val',
                        f'{paths[loader][0]}.val_subjects={args.validation}']
    return options + list(args.cfg_options)


def count_train_subjects(cfg):
    """How many subjects the training set of ``cfg`` reads (its splits.json decides)."""
    dataset = dataset_paths(cfg)['train_dataloader'][1]
    if dataset.get('subjects'):
        return len(dataset['subjects'])
    splits_file = Path(dataset['data_root']) / 'splits.json'
    with open(splits_file) as f:
        available = len(json.load(f)[dataset.get('split', 'train')])
    if dataset.get('split', 'train') == 'train':
        available -= dataset.get('val_subjects') or 0
    return available if dataset.get('num_subjects') is None else dataset['num_subjects']


# ---------------------------------------------------------------- running
def read_json(path):
    with open(path) as f:
        return json.load(f)


def run_tool(tool, tool_args, in_process, threads):
    """Run ``tools/<tool>`` with ``tool_args``; return its wall-clock and CPU seconds.

    CPU seconds (all threads, user + system) do not depend on how busy a
    shared machine is; wall-clock seconds do.
    """
    script = ROOT / 'tools' / tool
    start, cpu_start = time.perf_counter(), cpu_seconds(in_process)
    if in_process:
        import torch

        saved, saved_threads = sys.argv, torch.get_num_threads()
        sys.argv = [str(script), *tool_args]
        torch.set_num_threads(threads)
        try:
            runpy.run_path(str(script), run_name='__main__')
        except SystemExit as err:  # the tools report bad input with SystemExit
            if err.code not in (None, 0):
                raise RuntimeError(f'{tool} failed: {err.code}') from err
        finally:
            sys.argv = saved
            torch.set_num_threads(saved_threads)
    else:
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
        done = subprocess.run([sys.executable, str(script), *tool_args], env=env)
        if done.returncode != 0:
            raise RuntimeError(f'{tool} exited with status {done.returncode}')
    return time.perf_counter() - start, cpu_seconds(in_process) - cpu_start


def cpu_seconds(own_process):
    """User + system CPU seconds of this process, or of its finished children."""
    usage = resource.getrusage(resource.RUSAGE_SELF if own_process else
                               resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def last_checkpoint(work_dir):
    """The checkpoint MMEngine saved last in ``work_dir`` (None if there is none)."""
    pointer = Path(work_dir) / 'last_checkpoint'
    if not pointer.is_file():
        return None
    path = pointer.read_text().strip()
    return path if osp.isfile(path) else None


def run_experiment(experiment, args):
    """Train (or resume) and test one experiment; write its study record."""
    work_dir = args.work_root / experiment.name
    if args.force and work_dir.exists():
        shutil.rmtree(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    record_path = work_dir / RECORD
    record = read_json(record_path) if record_path.is_file() else {}
    options = study_options(experiment, args)
    option_args = ['--cfg-options', *options]
    if 'train_seconds' not in record:
        train_args = [experiment.config, '--work-dir', str(work_dir), *option_args]
        resumed = last_checkpoint(work_dir) is not None
        if resumed:
            train_args.append('--resume')
        print(f'[study] {experiment.name}: training{" (resumed)" if resumed else ""}',
              flush=True)
        load = os.getloadavg()[0]
        seconds, cpu = run_tool('train.py', train_args, args.in_process, args.threads)
        record.update(train_seconds=seconds, train_cpu_seconds=cpu, threads=args.threads,
                      load_average=[round(load, 2), round(os.getloadavg()[0], 2)],
                      resumed=resumed,
                      train_command=command_line('train.py', train_args),
                      checkpoint=last_checkpoint(work_dir))
        write_json_atomic(record, record_path)
    if not record.get('checkpoint'):
        raise RuntimeError(f'{work_dir}: training left no checkpoint')
    test_args = [experiment.config, record['checkpoint'], '--work-dir', str(work_dir),
                 '--out', str(work_dir / METRICS), *option_args]
    print(f'[study] {experiment.name}: testing {record["checkpoint"]}', flush=True)
    record['test_seconds'], record['test_cpu_seconds'] = run_tool(
        'test.py', test_args, args.in_process, args.threads)
    record['test_command'] = command_line('test.py', test_args)
    cfg = merged_config(ROOT / experiment.config, options)
    record['train_subjects'] = count_train_subjects(cfg)
    record['finished'] = datetime.datetime.now().isoformat(timespec='seconds')
    write_json_atomic(record, record_path)


def command_line(tool, tool_args):
    return ' '.join(shlex.quote(a) for a in ['python', f'tools/{tool}', *tool_args])


def is_finished(work_dir):
    """Trained and tested: ``metrics.json`` and a finished study record exist."""
    record = Path(work_dir) / RECORD
    return (Path(work_dir) / METRICS).is_file() and record.is_file() and \
        'finished' in read_json(record)


# ---------------------------------------------------------------- collecting
def collect_rows(args):
    """One dict a finished experiment of the manifest, in manifest order."""
    rows = []
    for experiment in EXPERIMENTS:
        work_dir = args.work_root / experiment.run_name
        if not is_finished(work_dir):
            continue
        metrics, record = read_json(work_dir / METRICS), read_json(work_dir / RECORD)
        row = dict(experiment=experiment.name, task=experiment.task,
                   train_subjects=record['train_subjects'],
                   train_seconds=record['train_seconds'])
        for name in ('PSNR', 'SSIM', 'NRMSE'):
            row[f'{name}_mean'] = metrics[name]['mean']
            row[f'{name}_std'] = metrics[name]['std']
        for name in ('Dice', 'Recall', 'Dice_real', 'Recall_real', 'Lesion_contrast',
                     'Lesion_contrast_real'):
            row[f'{name}_mean'] = metrics.get(name, {}).get('mean')
        row['extra'] = dict(experiment=experiment, record=record, metrics=metrics)
        rows.append(row)
    return rows


def csv_text(rows):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator='\n')
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow(['' if row[c] is None else format_number(row[c], 6)
                         for c in CSV_COLUMNS])
    return out.getvalue()


def format_number(value, digits):
    if isinstance(value, float):
        return f'{value:.{digits}g}'
    return str(value)


def duration(seconds):
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f'{hours}:{minutes:02d}:{secs:02d}'


def markdown_text(rows, args):
    """The study's Markdown: one table a group, the paper's bar, commands and cost."""
    by_name = {row['experiment']: row for row in rows}
    split = f'{args.validation} validation subjects carved from train' if args.validation \
        else 'the test split'
    lines = ['<!-- written by tools/run_study.py; do not edit by hand -->',
             f'Scored on {split}; work root `{args.work_root}`.', '']
    if args.cfg_options:
        lines += [f'Extra `--cfg-options` (not the CPU-size study): '
                  f'`{" ".join(args.cfg_options)}`', '']
    for group in (MAIN_T2, MAIN_FLAIR, ABLATION):
        members = [e for e in EXPERIMENTS if e.group == group]
        lesion = members[0].task == FLAIR
        header = ['experiment', 'method', 'train subj.', 'PSNR (dB)', 'SSIM', 'NRMSE']
        header += ['lesion Dice', 'lesion recall', 'lesion contrast'] if lesion else []
        lines += [f'### {group}', '', '| ' + ' | '.join(header + ['train time']) + ' |',
                  '|' + '---|' * (len(header) + 1)]
        for e in members:
            row = by_name.get(e.name)
            if row is None:
                cells = [e.name, e.label, str(e.train_subjects)] + ['not run'] * (
                    len(header) - 2)
            else:
                cells = [e.name, e.label, str(row['train_subjects'])]
                cells += [f'{row[f"{m}_mean"]:.{d}f} ± {row[f"{m}_std"]:.{d}f}'
                          for m, d in (('PSNR', 2), ('SSIM', 4), ('NRMSE', 4))]
                if lesion:
                    cells += [fmt_optional(row[f'{m}_mean'])
                              for m in ('Dice', 'Recall', 'Lesion_contrast')]
                cells.append(duration(row['train_seconds']))
            lines.append('| ' + ' | '.join(cells) + ' |')
        if group == MAIN_FLAIR:
            real = next((r for r in rows if r['task'] == FLAIR and r['Dice_real_mean'] is not
                         None), None)
            if real is not None:
                lines += ['', f'The same segmentation on the real FLAIR (its ceiling): Dice '
                          f'{real["Dice_real_mean"]:.3f}, recall {real["Recall_real_mean"]:.3f}; '
                          f'lesion contrast of the real FLAIR '
                          f'{fmt_optional(real["Lesion_contrast_real_mean"])} (mean inside '
                          'the lesions minus the mean of a 2-voxel brain ring around them, '
                          'in the network\'s [-1, 1] units).']
        lines.append('')
    lines += ['### The bar', ''] + bar_lines(by_name) + ['']
    if not rows:
        return '\n'.join(lines + ['No experiment has finished yet: no costs or commands.'])
    lines += ['### Wall clock and CPU time', '',
              'Wall clock (h:mm:ss) depends on what else the machine ran (load average at '
              'the start and end of training); CPU time (all threads) does not.', '',
              '| experiment | train wall | train CPU | test wall | test CPU | threads | load |',
              '|---|---|---|---|---|---|---|']
    for row in rows:
        record = row['extra']['record']
        resumed = ' (resumed: after the resume only)' if record.get('resumed') else ''
        load = ' → '.join(f'{x:.1f}' for x in record.get('load_average', []))
        lines.append(f'| {row["experiment"]} | {duration(record["train_seconds"])}{resumed} | '
                     f'{duration(record.get("train_cpu_seconds", 0))} | '
                     f'{duration(record["test_seconds"])} | '
                     f'{duration(record.get("test_cpu_seconds", 0))} | '
                     f'{record.get("threads", "")} | {load} |')
    lines += ['', '### Commands', '']
    for row in rows:
        record = row['extra']['record']
        lines += [f'`{row["experiment"]}`:', '', '```', record['train_command'],
                  record['test_command'], '```', '']
    return '\n'.join(lines)


def fmt_optional(value):
    return 'n/a' if value is None else f'{value:.3f}'


def bar_lines(by_name):
    """The issue's bar, checked on the numbers: met, not met, or not measured."""
    checks = [('FGSB (2) PSNR > Pix2Pix (2), T1->T2', 'fgsb_t2_2subj', 'pix2pix_t2_2subj',
               'PSNR_mean'),
              ('FGSB (2) SSIM > Pix2Pix (2), T1->T2', 'fgsb_t2_2subj', 'pix2pix_t2_2subj',
               'SSIM_mean'),
              ('FGSB (2) prior PSNR > Pix2Pix (2), T1->FLAIR', 'fgsb_flair_prior_2subj',
               'pix2pix_flair_2subj', 'PSNR_mean'),
              ('FGSB (2) prior SSIM > Pix2Pix (2), T1->FLAIR', 'fgsb_flair_prior_2subj',
               'pix2pix_flair_2subj', 'SSIM_mean'),
              ('FGSB (2) prior lesion Dice > Pix2Pix (2), T1->FLAIR',
               'fgsb_flair_prior_2subj', 'pix2pix_flair_2subj', 'Dice_mean')]
    lines = []
    for text, ours, theirs, column in checks:
        a, b = by_name.get(ours, {}).get(column), by_name.get(theirs, {}).get(column)
        if a is None or b is None:
            verdict = 'not measured yet'
        else:
            verdict = f'{a:.4f} vs {b:.4f}: ' + ('**met**' if a > b else '**not met**')
        lines.append(f'- {text}: {verdict}')
    return lines


def fill_results_doc(path, markdown):
    """Replace what lies between the study markers of ``path`` with ``markdown``."""
    text = Path(path).read_text()
    start, end = (text.find(m) for m in MARKERS)
    if start < 0 or end < start:
        raise SystemExit(f'error: {path} has no {MARKERS[0]} ... {MARKERS[1]} block to fill')
    filled = text[:start + len(MARKERS[0])] + '\n' + markdown + '\n' + text[end:]
    write_text_atomic(filled, path)


# ---------------------------------------------------------------- figure
def draw_figures(rows, args):
    """One PNG a group: the same test slices from every method beside the real target.

    The slices are fixed by the data, not by any result: in each of the first
    two test subjects with lesions, the slice with the most ground-truth
    lesion voxels. The ground-truth lesion outline is red on every panel; on
    FLAIR panels the fixed segmentation of that panel is cyan.
    """
    import torch

    torch.set_num_threads(args.threads)
    written = []
    for group in (MAIN_T2, MAIN_FLAIR, ABLATION):
        members = [r['extra'] for r in rows if r['extra']['experiment'].group == group]
        if members:
            samples, panels = figure_panels(members, args)
            path = args.out_dir / f'{args.stem}_{slug(group)}.png'
            plot_panels(samples, panels, flair=members[0]['experiment'].task == FLAIR,
                        path=path)
            written.append(path)
    return written


def figure_panels(members, args):
    """The figure's samples and ``[(title, [image a sample])]``: source, real, each method."""
    import torch

    from fgsb.apis import load_model
    from fgsb.registry import DATASETS

    panels, samples = [], None
    for member in members:
        experiment = member['experiment']
        cfg = merged_config(ROOT / experiment.config, study_options(experiment, args))
        if samples is None:  # every member of a group has the same test set
            dataset = DATASETS.build(cfg.test_dataloader.dataset)
            samples = [dataset[i] for i in figure_slices(dataset)]
            panels.append(('T1 (source)', [s['source'][0].numpy() for s in samples]))
            panels.append((f'real {dataset.target}', [s['target'][0].numpy() for s in samples]))
        model = load_model(cfg, member['record']['checkpoint'], device='cpu')
        torch.manual_seed(0)  # the bridge's noise: the same draw for every run
        with torch.no_grad():
            prediction = model.translate(torch.stack([s['source'] for s in samples]))
        panels.append((experiment.label, list(prediction.float().numpy()[:, 0])))
    return samples, panels


def plot_panels(samples, panels, flair, path):
    """A grid, a row a sample and a column a panel, written atomically to ``path``."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    from fgsb.evaluation.lesion_segmentation import segment_hyperintensities

    fig, axes = plt.subplots(len(samples), len(panels), squeeze=False,
                             figsize=(1.8 * len(panels), 1.9 * len(samples) + 0.3))
    for r, sample in enumerate(samples):
        lesion = sample['lesion_mask'][0].numpy() > 0
        brain = sample['brain_mask'][0].numpy() > 0
        for c, (title, images) in enumerate(panels):
            ax = axes[r, c]
            # Transposed, origin below: left-right across, anterior up.
            ax.imshow(images[r].T, cmap='gray', vmin=-1, vmax=1, origin='lower')
            if flair and c > 0:
                found = segment_hyperintensities(images[r][None], brain[None])[0]
                if found.any():
                    ax.contour(found.T, levels=[0.5], colors='cyan', linewidths=0.6,
                               origin='lower')
            if lesion.any():
                ax.contour(lesion.T, levels=[0.5], colors='red', linewidths=0.6,
                           origin='lower')
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(title, fontsize=7)
            if c == 0:
                meta = sample['meta']
                ax.set_ylabel(f'{meta["subject"]} z={meta["slice_index"]}', fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{path.name}.', suffix='.png', dir=path.parent)
    os.close(fd)
    fig.savefig(tmp, dpi=150)
    plt.close(fig)
    os.replace(tmp, path)


def figure_slices(dataset, count=2):
    """Dataset indices of the figure's slices (see ``draw_figures``)."""
    picks = []
    for subject in dataset.subjects:
        indices = dataset.subject_slices(subject)
        lesion = [float(dataset[i]['lesion_mask'].sum()) for i in indices]
        if max(lesion) > 0:
            picks.append(indices[max(range(len(indices)), key=lesion.__getitem__)])
        if len(picks) == count:
            return picks
    if not picks:  # no lesions at all: the middle slice of the first subject
        indices = dataset.subject_slices(dataset.subjects[0])
        picks.append(indices[len(indices) // 2])
    return picks


def slug(group):
    return {MAIN_T2: 't2', MAIN_FLAIR: 'flair', ABLATION: 'ablations'}[group]


# ---------------------------------------------------------------- main
def main(argv=None):
    args = parse_args(argv)
    selected = [e for e in EXPERIMENTS if not args.only or e.name in args.only]
    # An experiment that reports another's run needs that run, once.
    runs = list(dict.fromkeys(BY_NAME[e.run_name] for e in selected))
    if args.list:
        for e in EXPERIMENTS:
            print(f'{e.name:28s} {e.task:10s} {e.train_subjects:2d}  {e.config}')
        return 0
    missing = [e.config for e in selected if not Path(e.config).is_file()]
    if missing:
        # Configs and the phantom's data_root are relative to the repository root.
        raise SystemExit(f'error: {missing[0]} not found; run tools/run_study.py from the '
                         f'repository root ({ROOT})')
    failed = []
    if not args.collect_only:
        for experiment in runs:
            if is_finished(args.work_root / experiment.name) and not args.force:
                print(f'[study] {experiment.name}: done, skipped (--force redoes it)')
                continue
            try:
                run_experiment(experiment, args)
            except Exception as err:  # one failed run must not stop the study
                print(f'[study] {experiment.name}: FAILED: {err}', file=sys.stderr)
                failed.append(experiment.name)
    rows = collect_rows(args)
    write_text_atomic(csv_text(rows), args.out_dir / f'{args.stem}.csv')
    markdown = markdown_text(rows, args)
    write_text_atomic(markdown + '\n', args.out_dir / f'{args.stem}.md')
    if args.results_doc and not args.validation:
        fill_results_doc(args.results_doc, markdown)
    if args.figure and rows:
        for path in draw_figures(rows, args):
            print(f'[study] figure written to {path}')
    print(f'[study] {len(rows)} finished experiment(s) in {args.out_dir / args.stem}.csv')
    if failed:
        print(f'[study] failed: {", ".join(failed)}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
