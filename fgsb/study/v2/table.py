"""One row of ``docs/results/phantom_study_v2.csv`` an experiment.

The columns are the study's contract with later work: the issue's list,
unchanged and first (later work adds rows), then the extras that say how
each number was reached, appended at the end. Scores are means over seeds
of the per-seed means over the scored subjects (the test split, or those
``evaluated_on`` names); ``*_seed_std`` is the sample standard deviation
(ddof 1) of those per-seed means, ``PSNR_subject_std`` the mean over seeds of
the spread over test subjects. Headline scores are the native-resolution
brain scores (``native_scores.json``); ``*_slices_mean`` keep the v1
convention (``tools/test.py``'s ``metrics.json``). Empty where a column does
not apply.
"""
import csv
import io

import numpy as np

from fgsb.evaluation.lesion_detection import SIZE_BINS
from .seed_run import read_seed

DESCRIPTIVE = ('experiment', 'task', 'method', 'prior', 'phantom', 'train_site',
               'test_site', 'train_subjects', 'input', 'sampling')
CSV_COLUMNS = DESCRIPTIVE + (
    'seeds', 'iterations', 'PSNR_mean', 'PSNR_seed_std', 'SSIM_mean', 'SSIM_seed_std',
    'NRMSE_mean', 'Dice_mean', 'Dice_seed_std', 'lesion_detection', 'through_plane_error',
    'train_cpu_s',
    # extras
    'PSNR_subject_std', 'PSNR_slices_mean', 'SSIM_slices_mean', 'best_iteration',
    'val_PSNR', 'samples', 'train_wall_s', 'Dice_real_mean', 'evaluated_on',
    # lesion-wise detection by lesion size (lesion_detection.SIZE_BINS) and the
    # false-positive lesions a subject
    'detection_small', 'detection_medium', 'detection_large', 'FP_lesions',
    # whole volumes (docs/volumes.md): the through-plane error's seed spread,
    # and the axial PSNR and through-plane error of the network's slices
    'through_plane_seed_std', 'PSNR_axial_slices_mean', 'PSNR_axial_slices_seed_std',
    'through_plane_slices_mean', 'through_plane_slices_seed_std', 'network_size')


def _mean(values):
    return float(np.mean(values)) if values else None


def _finite(value):
    return value is not None and bool(np.isfinite(value))


def _seed_std(values):
    return float(np.std(values, ddof=1)) if len(values) > 1 else None


def experiment_row(experiment, root):
    """The row of ``experiment`` from its scored seeds (None when none is)."""
    seeds = [s for s in (read_seed(experiment, seed, root) for seed in experiment.seeds) if s]
    if not seeds:
        return None
    records, slices, natives = zip(*seeds)
    native = {k: [n['mean'][k] for n in natives] for k in ('PSNR', 'SSIM', 'NRMSE')}
    dice = [m['Dice']['mean'] for m in slices if m.get('Dice', {}).get('mean') is not None]
    # the same segmentation on the real FLAIR: the ceiling of Dice_mean
    dice_real = [m['Dice_real']['mean'] for m in slices
                 if m.get('Dice_real', {}).get('mean') is not None]
    detection = [m['Detection_rate']['mean'] for m in slices if 'Detection_rate' in m]
    # NaN where a subject set has no lesion of a size (the test split has no large one)
    by_size = {name: _mean([m[f'Detection_rate_{name}']['mean'] for m in slices
                            if _finite(m.get(f'Detection_rate_{name}', {}).get('mean'))])
               for name, _, _ in SIZE_BINS}
    false_positives = [m['FP_lesions']['mean'] for m in slices if 'FP_lesions' in m]
    through_plane = [n['mean']['through_plane_error'] for n in natives
                     if 'through_plane_error' in n['mean']]
    axial_slices, through_plane_slices = (
        [m[name]['mean'] for m in slices if name in m]
        for name in ('PSNR_axial', 'through_plane_error'))
    row = {
        'experiment': experiment.name, 'task': experiment.task, 'method': experiment.method,
        'prior': experiment.prior if experiment.task == 't1->flair' else '',
        'phantom': experiment.phantom, 'train_site': experiment.train_site,
        'test_site': experiment.test_site, 'train_subjects': experiment.train_subjects,
        'input': experiment.input, 'sampling': experiment.sampling,
        'seeds': len(seeds),
        'iterations': _mean([r['iterations'] for r in records]),
        'PSNR_mean': _mean(native['PSNR']), 'PSNR_seed_std': _seed_std(native['PSNR']),
        'SSIM_mean': _mean(native['SSIM']), 'SSIM_seed_std': _seed_std(native['SSIM']),
        'NRMSE_mean': _mean(native['NRMSE']),
        'Dice_mean': _mean(dice), 'Dice_seed_std': _seed_std(dice),
        'lesion_detection': _mean(detection), 'through_plane_error': _mean(through_plane),
        'train_cpu_s': _mean([r['train_cpu_s'] for r in records]),
        'PSNR_subject_std': _mean([n['mean']['PSNR_subject_std'] for n in natives]),
        'PSNR_slices_mean': _mean([m['PSNR']['mean'] for m in slices]),
        'SSIM_slices_mean': _mean([m['SSIM']['mean'] for m in slices]),
        'best_iteration': _mean([r['best_iteration'] for r in records]),
        'val_PSNR': _mean([r['best_val_PSNR'] for r in records]),
        'samples': natives[0]['samples'],
        'train_wall_s': _mean([r['train_wall_s'] for r in records]),
        'Dice_real_mean': _mean(dice_real),
        'evaluated_on': experiment.evaluated_on,
        **{f'detection_{name}': value for name, value in by_size.items()},
        'FP_lesions': _mean(false_positives),
        'through_plane_seed_std': _seed_std(through_plane),
        'PSNR_axial_slices_mean': _mean(axial_slices),
        'PSNR_axial_slices_seed_std': _seed_std(axial_slices),
        'through_plane_slices_mean': _mean(through_plane_slices),
        'through_plane_slices_seed_std': _seed_std(through_plane_slices),
        'network_size': experiment.network_size,
    }
    return row


def format_cell(value):
    if value is None:
        return ''
    if isinstance(value, float):
        return f'{value:.4f}'.rstrip('0').rstrip('.') if abs(value) < 1000 else f'{value:.0f}'
    return str(value)


def csv_text(rows):
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator='\n')
    writer.writeheader()
    for row in rows:
        writer.writerow({k: format_cell(row.get(k)) for k in CSV_COLUMNS})
    return out.getvalue()
