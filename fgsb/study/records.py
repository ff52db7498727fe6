"""What a study run leaves in its work dir, and reading it back.

``study_record.json`` (the runner's: times, commands, checkpoint, the
number of training subjects) and ``metrics.json`` (``tools/test.py``'s).
"""
import json
from pathlib import Path

from .experiments import EXPERIMENTS

RECORD, METRICS = 'study_record.json', 'metrics.json'
SCORED = ('PSNR', 'SSIM', 'NRMSE')  # mean and std of each
LESION_SCORES = ('Dice', 'Recall', 'Dice_real', 'Recall_real', 'Lesion_contrast',
                 'Lesion_contrast_real')  # mean only, absent on T1->T2


def read_json(path):
    with open(path) as f:
        return json.load(f)


def read_record(work_dir):
    """The study record of ``work_dir`` ({} before the first training)."""
    path = Path(work_dir) / RECORD
    return read_json(path) if path.is_file() else {}


def is_finished(work_dir, record=None):
    """Trained and tested: ``metrics.json`` and a finished study record exist
    (``record``: the work dir's record when the caller has read it already)."""
    record = read_record(work_dir) if record is None else record
    return (Path(work_dir) / METRICS).is_file() and 'finished' in record


def collect_rows(work_root):
    """One dict a finished experiment of the manifest, in manifest order.

    The CSV columns, each lesion score's mean (None where absent) and
    ``extra``: the experiment, its record and its metrics.
    """
    rows = []
    for experiment in EXPERIMENTS:
        work_dir = Path(work_root) / experiment.run_name
        record = read_record(work_dir)
        if not is_finished(work_dir, record):
            continue
        metrics = read_json(work_dir / METRICS)
        row = dict(experiment=experiment.name, task=experiment.task,
                   train_subjects=record['train_subjects'],
                   train_seconds=record['train_seconds'])
        for name in SCORED:
            row[f'{name}_mean'] = metrics[name]['mean']
            row[f'{name}_std'] = metrics[name]['std']
        for name in LESION_SCORES:
            row[f'{name}_mean'] = metrics.get(name, {}).get('mean')
        row['extra'] = dict(experiment=experiment, record=record, metrics=metrics)
        rows.append(row)
    return rows
