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
"""
from collections import defaultdict

import numpy as np
from mmengine.logging import print_log
from scipy import ndimage

from fgsb.datasets.batch_keys import BRAIN_MASK, LESION_MASK, TARGET
from fgsb.registry import METRICS

from .lesion_segmentation import segment_hyperintensities
from .volume_synthesis_metric import VolumeSynthesisMetric

LESION_NAMES = ('Dice', 'Recall', 'Dice_real', 'Recall_real', 'Lesion_contrast',
                'Lesion_contrast_real')
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
    scores = {}
    for suffix, volume in (('', synthetic), ('_real', real)):
        found = segment(volume, brain_mask)
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
    Select it for a FLAIR run with
    ``--cfg-options test_evaluator.type=LesionPreservationMetric``.
    """

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
        scored = []
        for row in self.per_subject:
            v = volumes[row['subject']]
            scores = lesion_scores(v['pred'], v[TARGET], v[BRAIN_MASK], v[LESION_MASK])
            row['lesion_voxels'] = int(v[LESION_MASK].sum())
            row.update(scores or dict.fromkeys(LESION_NAMES))
            if scores is not None:
                scored.append(scores)
        if not scored:
            print_log('LesionPreservationMetric: no test subject has a lesion; Dice and '
                      'recall are NaN', logger='current', level=30)
        for name in LESION_NAMES:
            values = np.array([s[name] for s in scored if s[name] is not None], dtype=float)
            metrics[name] = float(values.mean()) if values.size else float('nan')
            metrics[f'{name}_std'] = float(values.std()) if values.size else float('nan')
        return metrics


def restack(results, keys):
    """``{subject: {key: (slices, H, W) array}}`` from per-slice results, in slice order."""
    slices = defaultdict(dict)
    for item in results:
        slices[item['subject']][item['slice_index']] = item
    return {subject: {key: np.stack([by_index[i][key] for i in sorted(by_index)])
                      for key in keys}
            for subject, by_index in slices.items()}
