"""The realism report of a phantom: how much its subjects and sites differ.

Per subject: the mean signal of pure WM, GM and CSF (partial volume > 0.9)
in each contrast, the T1w-T2w correlation inside the brain and inside the
head, the lesion volume. Over subjects: the coefficient of variation
(std / mean, population std) of each tissue's mean signal and of the
WM/GM ratio within each site and across all subjects, and each site's
T1w/T2w ratio of each tissue.
See docs/phantom.md.
"""
import numpy as np

from .phantom_tissues import MODALITIES
from .prepared_layout import BRAIN_MASK, LESION_MASK

REPORT_TISSUES = ('wm', 'gm', 'csf')
PURE = 0.9


def _correlation(a, b, inside):
    x, y = a[inside].astype(np.float64), b[inside].astype(np.float64)
    return float(np.corrcoef(x, y)[0, 1])


def subject_statistics(subject, site):
    """The statistics of one generated subject (the arrays, before writing)."""
    tissues = subject['tissues']
    brain = subject[BRAIN_MASK] > 0
    head = sum(tissues.values()) >= 0.5
    means = {m: {t: float(subject[m][(tissues[t] > PURE) & brain].mean())
                 for t in REPORT_TISSUES} for m in MODALITIES}
    voxel_ml = float(abs(np.linalg.det(subject['affine'][:3, :3]))) / 1000.0
    return {'site': site, 'means': means,
            't1_t2_correlation_brain': _correlation(subject['t1'], subject['t2'], brain),
            't1_t2_correlation_head': _correlation(subject['t1'], subject['t2'], head),
            'lesion_volume_ml': float(subject[LESION_MASK].sum()) * voxel_ml}


def _cv(values):
    values = np.asarray(values, np.float64)
    return float(values.std() / values.mean()) if len(values) > 1 else 0.0


def _group_summary(rows):
    return {
        'subjects': len(rows),
        'cv': {m: {t: _cv([r['means'][m][t] for r in rows]) for t in REPORT_TISSUES}
               for m in MODALITIES},
        # a gain-free measure: what survives the per-volume intensity normalisation
        'cv_wm_gm_ratio': {m: _cv([r['means'][m]['wm'] / r['means'][m]['gm'] for r in rows])
                           for m in MODALITIES},
        't1_t2_ratio': {t: float(np.mean([r['means']['t1'][t] / r['means']['t2'][t]
                                          for r in rows])) for t in REPORT_TISSUES},
    }


def summarise(rows):
    """The report of the per-subject ``rows`` of ``subject_statistics``."""
    sites = sorted({r['site'] for r in rows})
    return {
        'subjects': rows,
        'all': _group_summary(rows),
        'sites': {site: _group_summary([r for r in rows if r['site'] == site])
                  for site in sites},
        't1_t2_correlation_brain': float(np.mean([r['t1_t2_correlation_brain'] for r in rows])),
        't1_t2_correlation_head': float(np.mean([r['t1_t2_correlation_head'] for r in rows])),
        'lesion_volume_ml': [round(r['lesion_volume_ml'], 2) for r in rows],
    }


def format_report(report):
    """The report as lines of text."""
    lines = ['CV across subjects of the mean signal (WM / GM / CSF):']
    groups = [('all', report['all'])] + list(report['sites'].items())
    for name, group in groups:
        cells = '  '.join(f'{m} ' + '/'.join(f'{group["cv"][m][t]:.3f}' for t in REPORT_TISSUES)
                          for m in MODALITIES)
        lines.append(f'  {name:8s} (n={group["subjects"]:2d})  {cells}')
    lines.append('CV across subjects of the WM/GM signal ratio (gain-free):')
    for name, group in groups:
        lines.append(f'  {name:8s} ' + '  '.join(f'{m} {group["cv_wm_gm_ratio"][m]:.3f}'
                                                 for m in MODALITIES))
    lines.append('T1w/T2w ratio of the mean signal (WM / GM / CSF):')
    for name, group in groups:
        ratio = group['t1_t2_ratio']
        lines.append(f'  {name:8s} ' + ' / '.join(f'{ratio[t]:.4f}' for t in REPORT_TISSUES))
    lines.append(f'T1w-T2w correlation: brain {report["t1_t2_correlation_brain"]:.3f}, '
                 f'head {report["t1_t2_correlation_head"]:.3f}')
    lines.append('lesion volume (ml) per subject: '
                 + ', '.join(f'{v:g}' for v in report['lesion_volume_ml']))
    return lines
