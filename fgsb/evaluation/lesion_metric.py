"""Lesion preservation of synthetic FLAIR: Dice and recall of a fixed segmentation.

Paper 4.2.1: the same segmentation is applied to the real and to the
synthetic FLAIR and both are scored against the ground-truth lesion masks.
Here the segmentation is ``segment_hyperintensities`` (fixed, documented in
its module); ``Dice``/``Recall`` score the synthetic FLAIR, ``Dice_real``/
``Recall_real`` the real one (the ceiling of this segmentation).

A segmentation scores 0 as soon as a synthetic lesion is fainter than its
threshold, so ``Lesion_contrast`` adds a threshold-free measure: the mean
intensity inside the ground-truth lesions minus the mean of a 2-voxel ring
of brain around them, on the synthetic (``Lesion_contrast``) and on the
real volume (``Lesion_contrast_real``), in the same units.

Lesion-wise detection (``lesion_detection``: 26-connected components, a
lesion is found when the segmentation overlaps it) adds, for the synthetic
and (``_real``) the real FLAIR: ``Detection_rate`` and
``Detection_rate_small``/``_medium``/``_large`` (< 10, 10-100, > 100
voxels), pooled over the test subjects (found lesions / true lesions, NaN
when a bin holds none), and ``FP_lesions`` (mean and std over every test
subject of the segmented components touching no true lesion). ``Lesions``
and ``Lesions_<bin>`` are the true-lesion counts behind the rates.
"""
from collections import defaultdict

import numpy as np
from mmengine.logging import print_log
from scipy import ndimage

from fgsb.datasets.batch_keys import BRAIN_MASK, LESION_MASK, TARGET
from fgsb.registry import METRICS

from .lesion_detection import SIZE_BINS, detection_counts, pooled_rates
from .lesion_segmentation import DEFAULT_RULE, segment_hyperintensities, segmentation_rule
from .volume_synthesis_metric import VolumeSynthesisMetric, average_overlaps

LESION_NAMES = ('Dice', 'Recall', 'Dice_real', 'Recall_real', 'Lesion_contrast',
                'Lesion_contrast_real')
BIN_SUFFIXES = [''] + [f'_{name}' for name, _, _ in SIZE_BINS]
# the lesion-wise metric names (docs/lesions.md), beside LESION_NAMES and their _std
DETECTION_NAMES = (tuple(f'Detection_rate{b}{r}' for r in ('', '_real') for b in BIN_SUFFIXES)
                   + ('FP_lesions', 'FP_lesions_std', 'FP_lesions_real', 'FP_lesions_real_std')
                   + tuple(f'Lesions{b}' for b in BIN_SUFFIXES))
RING_WIDTH = 2  # voxels, in-plane


def lesion_contrast(volume, brain_mask, lesion_mask, ring_width=RING_WIDTH):
    """Mean of ``volume`` in the lesions minus its mean in the brain ring
    ``ring_width`` voxels (in-plane) around them; None without lesions or ring."""
    lesion = np.asarray(lesion_mask, bool)
    if not lesion.any():
        return None
    in_plane = np.zeros((1, 3, 3), bool)
    in_plane[0] = ndimage.generate_binary_structure(2, 1)
    grown = ndimage.binary_dilation(lesion, structure=in_plane, iterations=ring_width)
    ring = grown & ~lesion & np.asarray(brain_mask, bool)
    if not ring.any():
        return None
    volume = np.asarray(volume, float)
    return float(volume[lesion].mean() - volume[ring].mean())


def dice_score(prediction, truth):
    """Dice ``2 |P & G| / (|P| + |G|)`` of two boolean masks; None when both are empty."""
    prediction, truth = np.asarray(prediction, bool), np.asarray(truth, bool)
    if prediction.shape != truth.shape:
        raise ValueError(f'dice_score: masks of different shapes {prediction.shape} '
                         f'and {truth.shape}')
    total = prediction.sum() + truth.sum()
    if total == 0:
        return None
    return float(2.0 * np.logical_and(prediction, truth).sum() / total)


def recall_score(prediction, truth):
    """Recall ``|P & G| / |G|``: the fraction of lesion voxels found; None without lesions."""
    prediction, truth = np.asarray(prediction, bool), np.asarray(truth, bool)
    if prediction.shape != truth.shape:
        raise ValueError(f'recall_score: masks of different shapes {prediction.shape} '
                         f'and {truth.shape}')
    if not truth.any():
        return None
    return float(np.logical_and(prediction, truth).sum() / truth.sum())


def lesion_scores(synthetic, real, brain_mask, lesion_mask, segment=segment_hyperintensities):
    """Dice/recall of ``segment`` on the synthetic and on the real volume vs ``lesion_mask``.

    Returns None for a subject without ground-truth lesions: Dice and recall
    are undefined there (an empty prediction is not a success worth 1, a
    false positive not a failure worth 0), so such subjects are left out of
    the mean instead of being given an arbitrary score.
    """
    truth = np.asarray(lesion_mask) != 0
    if not truth.any():
        return None
    return voxel_scores({'': (synthetic, segment(synthetic, brain_mask)),
                         '_real': (real, segment(real, brain_mask))}, brain_mask, truth)


def voxel_scores(segmented, brain_mask, truth):
    """Dice, recall and lesion contrast of ``{suffix: (volume, segmentation)}``."""
    scores = {}
    for suffix, (volume, found) in segmented.items():
        scores[f'Dice{suffix}'] = dice_score(found, truth)
        scores[f'Recall{suffix}'] = recall_score(found, truth)
        scores[f'Lesion_contrast{suffix}'] = lesion_contrast(volume, brain_mask, truth)
    return scores


@METRICS.register_module()
class LesionPreservationMetric(VolumeSynthesisMetric):
    """``VolumeSynthesisMetric`` plus lesion Dice and recall of each test subject.

    Adds ``Dice``, ``Recall`` (synthetic FLAIR) and ``Dice_real``,
    ``Recall_real`` (real FLAIR) to the metrics and to ``per_subject``; the
    mean and std are over the subjects that have ground-truth lesions; the
    others get None in ``per_subject`` (and NaN when no subject has any).
    The lesion-wise ``DETECTION_NAMES`` (module docstring) cover every
    subject; ``per_subject`` gets each subject's counts (``lesions<bin>``,
    ``lesions_found<bin>``, ``lesions_found<bin>_real``, ``FP_lesions``,
    ``FP_lesions_real``). Select it for a FLAIR run with
    ``--cfg-options test_evaluator.type=LesionPreservationMetric``.

    ``segmentation`` is the rule of ``segment_hyperintensities`` (a name of
    ``lesion_segmentation.RULES`` or a dict of its parameters), applied
    alike to the synthetic and the real FLAIR.
    """

    def __init__(self, segmentation=DEFAULT_RULE, **kwargs):
        super().__init__(**kwargs)
        self.segmentation = segmentation
        segmentation_rule(segmentation)  # refuse an unknown rule before any inference

    def process(self, data_batch, data_samples):
        super().process(data_batch, data_samples)
        # The parent appended one result a sample, in order: add the masks.
        added = self.results[len(self.results) - len(data_samples):]
        for item, sample in zip(added, data_samples):
            for key in (BRAIN_MASK, LESION_MASK):
                if key not in sample:
                    raise KeyError(f'LesionPreservationMetric needs {key!r} in the '
                                   f"model's outputs; the data set must provide it")
                item[key] = sample[key][0].numpy() > 0

    def compute_metrics(self, results):
        metrics = super().compute_metrics(results)
        volumes = restack(results, ('pred', TARGET, BRAIN_MASK, LESION_MASK))
        scored, counts = [], {'': [], '_real': []}
        for row in self.per_subject:
            v = volumes[row['subject']]
            truth = v[LESION_MASK]
            segmented = {suffix: (volume, segment_hyperintensities(volume, v[BRAIN_MASK],
                                                                   self.segmentation))
                         for suffix, volume in (('', v['pred']), ('_real', v[TARGET]))}
            scores = voxel_scores(segmented, v[BRAIN_MASK], truth) if truth.any() else None
            row['lesion_voxels'] = int(truth.sum())
            row.update(scores or dict.fromkeys(LESION_NAMES))
            if scores is not None:
                scored.append(scores)
            for suffix, (_, found) in segmented.items():
                subject_counts = detection_counts(found, truth)
                counts[suffix].append(subject_counts)
                row.update(detection_row(subject_counts, suffix))
        if not scored:
            print_log('LesionPreservationMetric: no test subject has a lesion; Dice and '
                      'recall are NaN', logger='current', level=30)
        for name in LESION_NAMES:
            values = np.array([s[name] for s in scored if s[name] is not None], dtype=float)
            metrics[name] = float(values.mean()) if values.size else float('nan')
            metrics[f'{name}_std'] = float(values.std()) if values.size else float('nan')
        metrics.update(detection_metrics(counts))
        return metrics


def detection_row(counts, suffix):
    """A subject's lesion-wise entries for ``per_subject`` (``suffix`` '' or '_real')."""
    row = {f'lesions_found{b}{suffix}': counts[f'found{b}'] for b in BIN_SUFFIXES}
    row[f'FP_lesions{suffix}'] = counts['false_positives']
    if not suffix:
        row.update({f'lesions{b}': counts[f'lesions{b}'] for b in BIN_SUFFIXES})
    return row


def detection_metrics(counts):
    """The lesion-wise metrics from ``{'': [counts a subject], '_real': [...]}``."""
    metrics = {}
    for suffix, per_subject in counts.items():
        rates = pooled_rates(per_subject)
        for b in BIN_SUFFIXES:
            metrics[f'Detection_rate{b}{suffix}'] = (float('nan') if rates[b] is None
                                                     else float(rates[b]))
        false_positives = np.array([c['false_positives'] for c in per_subject], dtype=float)
        metrics[f'FP_lesions{suffix}'] = float(false_positives.mean())
        metrics[f'FP_lesions{suffix}_std'] = float(false_positives.std())
    for b in BIN_SUFFIXES:
        metrics[f'Lesions{b}'] = float(sum(c[f'lesions{b}'] for c in counts['']))
    return metrics


def restack(results, keys):
    """``{subject: {key: (slices, H, W) array}}`` from per-slice results, from
    the first to the last slice index; a slice missing in between is
    background (-1 images, empty masks), so that no 3-D lesion component
    spans a gap. Multi-slice predictions are overlap-averaged first
    (``average_overlaps``; results the parent metric averaged stay as they are)."""
    slices = defaultdict(dict)
    for item in results:
        slices[item['subject']][item['slice_index']] = item
    stacks = {}
    for subject, by_index in slices.items():
        if 'pred' in keys:
            average_overlaps([by_index[i] for i in sorted(by_index)])
        first, last = min(by_index), max(by_index)
        stacks[subject] = {}
        for key in keys:
            like = by_index[first][key]
            fill = np.full(like.shape, -1.0 if like.dtype.kind == 'f' else 0, like.dtype)
            stacks[subject][key] = np.stack([by_index[i][key] if i in by_index else fill
                                             for i in range(first, last + 1)])
    return stacks
