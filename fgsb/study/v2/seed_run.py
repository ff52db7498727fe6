"""Train (or resume), then score, one seed of one v2 experiment.

Training runs ``tools/train.py`` into ``<root>/<experiment>/seed<k>`` with
``randomness.seed=k``; it is finished when its learning curve says so (the
stopping rule fired or the budget ran out). The best-validation checkpoint
is then scored twice: by ``tools/test.py`` (the v1 convention: the
network's slices restacked, ``metrics.json``) and through the synthesis path
at native resolution (``native_scores.json``, the headline). Every step is
skipped when its output exists, so a study stopped at any point continues.
"""
import datetime
from pathlib import Path

from fgsb.engine.learning_curve import best_entry, read_curve
from fgsb.engine.run_config import load_config
from fgsb.engine.validation_stopping_hook import should_stop
from fgsb.fileio import write_json_atomic
from fgsb.study.records import METRICS, RECORD, read_json, read_record
from fgsb.study.runner import ROOT, command_line, last_checkpoint, run_tool
from .manifest import BY_NAME, FLAIR
from .native_scoring import score_checkpoint

NATIVE = 'native_scores.json'
BEST_PATTERN = 'best_PSNR_iter_*.pth'
LESION_RULE = 'phantom_v2'  # lesion_segmentation.RULES: chosen on phantom v2's training subjects


def training_finished(work_dir):
    """The last validation was at the budget, or the stopping rule (with the
    parameters the curve records) fires on the curve as it stands."""
    curve = read_curve(work_dir)
    entries = curve.get('entries') or []
    if not entries:
        return False
    if entries[-1]['iteration'] >= curve['max_iters']:
        return True
    scores = [(e['iteration'], e['metrics'][curve['monitor']]) for e in entries]
    return should_stop(scores, curve['window_iterations'], curve['min_delta'], curve['rule'],
                       start=curve.get('start_iteration', 0))


def best_checkpoint(work_dir):
    """The best-validation checkpoint ``CheckpointHook(save_best=...)`` kept."""
    found = sorted(Path(work_dir).glob(BEST_PATTERN), key=lambda p: p.stat().st_mtime)
    if not found:
        raise RuntimeError(f'{work_dir}: training finished but left no {BEST_PATTERN}')
    return found[-1]


def seed_options(experiment, seed, settings):
    """The --cfg-options of a seed's runs: its seed, the experiment's, the user's."""
    return [f'randomness.seed={seed}', *experiment.cfg_options, *settings.cfg_options]


def test_options(experiment):
    if experiment.task != FLAIR:
        return []
    return ['test_evaluator.type=LesionPreservationMetric',
            f'test_evaluator.segmentation={LESION_RULE}']


def sampling_args(experiment):
    """``tools/test.py``'s arguments for the row's draws (none when independent)."""
    return [] if experiment.sampling == 'independent' else ['--sampling', experiment.sampling]


def native_name(split, samples, nfe=None):
    """File of the native scores of ``split`` with ``samples`` draws of ``nfe`` steps."""
    steps = '' if nfe is None else f'_nfe{nfe}'
    return NATIVE if split == 'test' else f'native_scores_{split}_K{samples}{steps}.json'


def train_seed(experiment, seed, settings):
    work_dir = experiment.train_dir(settings.work_root, seed)
    if training_finished(work_dir):
        return
    work_dir.mkdir(parents=True, exist_ok=True)
    args = [experiment.config, '--work-dir', str(work_dir)]
    if last_checkpoint(work_dir) is not None:
        args.append('--resume')
    args += ['--cfg-options', *seed_options(experiment, seed, settings)]
    print(f'[study] {experiment.name} seed {seed}: training'
          f'{" (resumed)" if "--resume" in args else ""}', flush=True)
    run_tool('train.py', args, settings)
    if not training_finished(work_dir):
        raise RuntimeError(f'{work_dir}: train.py ended before the stopping rule or the '
                           'budget (see its log)')


def score_seed(experiment, seed, settings, split='test', samples=None, nfe=None):
    """Score the seed's best checkpoint; return its record."""
    work_dir = experiment.work_dir(settings.work_root, seed)
    samples = experiment.samples if samples is None else samples
    nfe = experiment.nfe if split == 'test' else nfe
    train_dir = experiment.train_dir(settings.work_root, seed)
    work_dir.mkdir(parents=True, exist_ok=True)
    record = read_record(work_dir)
    native = work_dir / native_name(split, samples, nfe)
    if split == 'test' and 'finished' in record and native.is_file() \
            and (work_dir / METRICS).is_file():
        return record
    checkpoint = best_checkpoint(train_dir)
    options = seed_options(experiment, seed, settings) + test_options(experiment)
    if split == 'test' and not (work_dir / METRICS).is_file():
        args = [experiment.config, str(checkpoint), '--work-dir', str(work_dir),
                '--out', str(work_dir / METRICS), *sampling_args(experiment),
                '--cfg-options', *options]
        print(f'[study] {experiment.name} seed {seed}: tools/test.py', flush=True)
        run_tool('test.py', args, settings)
        record['test_command'] = command_line('test.py', args)
    if not native.is_file():
        print(f'[study] {experiment.name} seed {seed}: native scores on {split}, '
              f'K={samples}, nfe={nfe or "trained"}', flush=True)
        cfg = load_config(str(ROOT / experiment.config), options)
        write_json_atomic(score_checkpoint(cfg, checkpoint, split, samples, nfe,
                                           sampling=experiment.sampling), native)
    if split != 'test':  # a validation scoring is a choice, not this seed's result
        return record
    curve = read_curve(train_dir)
    best = best_entry(curve)
    # a trained_by row's seeds were trained by its trainer's config and options
    trainer = BY_NAME[experiment.trained_by] if experiment.trained_by else experiment
    record.update(
        train_command=command_line('train.py', [trainer.config, '--work-dir',
                                                str(train_dir), '--cfg-options',
                                                *seed_options(trainer, seed, settings)]),
        checkpoint=str(checkpoint), best_iteration=best['iteration'],
        best_val_PSNR=best['metrics']['PSNR'], iterations=curve['entries'][-1]['iteration'],
        stopped_early=bool(curve.get('stopped_early')),
        train_cpu_s=curve['entries'][-1]['train_cpu_s'],
        train_wall_s=curve['entries'][-1]['train_wall_s'],
        finished=datetime.datetime.now().isoformat(timespec='seconds'))
    write_json_atomic(record, work_dir / RECORD)
    return record


def read_seed(experiment, seed, root):
    """``(record, old-convention metrics, native scores)`` of a scored seed,
    or None when it is not scored yet."""
    work_dir = experiment.work_dir(root, seed)
    paths = [work_dir / RECORD, work_dir / METRICS, work_dir / NATIVE]
    if not all(p.is_file() for p in paths):
        return None
    return tuple(read_json(p) for p in paths)
