"""PSNR, SSIM and NRMSE of synthesised volumes, per test subject, and their
through-plane consistency (``volume_consistency``)."""
from collections import defaultdict

import numpy as np
from mmengine.evaluator import BaseMetric
from skimage.metrics import normalized_root_mse, peak_signal_noise_ratio
from skimage.metrics import structural_similarity

from fgsb.datasets.batch_keys import BRAIN_MASK, META, SOURCE, TARGET
from fgsb.datasets.slice_overlap import overlap_average
from fgsb.registry import METRICS

from .finite_output import NonFiniteOutputError, non_finite_count
from .intensity_scale import to_unit_range
from .volume_consistency import consistency_scores, foreground


def volume_scores(prediction, target):
    """PSNR (dB), SSIM and NRMSE of one restacked volume (slices, H, W).

    Both volumes are in [-1, 1] and scored in [0, 1]. SSIM is the mean of
    the 2-D SSIM of every slice (axial slices are what the model sees, and
    test volumes may hold fewer slices than a 3-D window); NRMSE is
    ``||target - prediction|| / ||target||`` (skimage's 'euclidean').
    """
    prediction, target = to_unit_range(prediction), to_unit_range(target)
    return {
        'PSNR': float(peak_signal_noise_ratio(target, prediction, data_range=1.0)),
        'SSIM': float(structural_similarity(target, prediction, data_range=1.0,
                                            channel_axis=0)),
        'NRMSE': float(normalized_root_mse(target, prediction,
                                           normalization='euclidean')),
    }


@METRICS.register_module()
class VolumeSynthesisMetric(BaseMetric):
    """Restack predicted slices into volumes and score each test subject.

    Reports mean and std over subjects of the volume scores and of
    ``consistency_scores`` (PSNR/SSIM of the axial, coronal and sagittal
    images, ``through_plane_error``), on the stack of the subject's slices
    with any gap between test slices filled by background (so no
    derivative spans a gap). The brain is the batch's ``BRAIN_MASK`` when
    the model's outputs carry it, else the target's voxels above the
    normalised minimum. With ``identity_baseline`` it also
    scores the normalised source against the target: the floor any useful
    synthesis must clear. Per-subject scores of the last evaluation are kept
    in ``per_subject`` for ``tools/test.py``. A prediction with NaN/Inf
    values raises ``NonFiniteOutputError`` naming the subject and slice
    (a diverged model is an error, not a score of NaN). A multi-slice
    prediction (``2m + 1`` channels, centre first; docs/volumes.md) is
    scored as a volume is synthesised: each test slice is the mean of its
    predictions from every test slice whose stack covers it.
    """

    default_prefix = ''
    names = ('PSNR', 'SSIM', 'NRMSE')

    def __init__(self, identity_baseline=True, collect_device='cpu', prefix=None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.identity_baseline = identity_baseline
        self.per_subject = []

    def process(self, data_batch, data_samples):
        for sample in data_samples:
            meta = sample[META]
            bad = non_finite_count(sample['pred'])
            if bad:
                raise NonFiniteOutputError(
                    f'{type(self).__name__}: the prediction of subject {meta["subject"]!r} '
                    f'slice {meta["slice_index"]} has {bad} NaN/Inf values; the model '
                    'diverged or its checkpoint holds non-finite weights, nothing is scored')
            self.results.append({
                'subject': meta['subject'],
                'slice_index': int(meta['slice_index']),
                'pred': sample['pred'].numpy(),  # (2m+1, H, W): averaged per subject
                TARGET: sample[TARGET][0].numpy(),
                SOURCE: sample[SOURCE][0].numpy() if self.identity_baseline else None,
                BRAIN_MASK: sample[BRAIN_MASK][0].numpy() > 0 if BRAIN_MASK in sample else None,
            })

    def compute_metrics(self, results):
        slices = defaultdict(dict)
        for item in results:
            # Duplicates appear when a distributed sampler pads the last batch.
            slices[item['subject']][item['slice_index']] = item
        self.per_subject = []
        for subject in sorted(slices):
            ordered = [slices[subject][i] for i in sorted(slices[subject])]
            average_overlaps(ordered)
            target = np.stack([s[TARGET] for s in ordered])
            scores = volume_scores(np.stack([s['pred'] for s in ordered]), target)
            scores.update(consistency_scores(*contiguous_stacks(ordered)))
            if self.identity_baseline:
                identity = volume_scores(np.stack([s[SOURCE] for s in ordered]), target)
                scores.update({f'identity_{k}': v for k, v in identity.items()})
            self.per_subject.append({'subject': subject, 'num_slices': len(ordered),
                                     **scores})
        metrics = {}
        for name in self.per_subject[0]:
            if name in ('subject', 'num_slices'):
                continue
            values = np.array([s[name] for s in self.per_subject], dtype=float)
            # a view too thin for SSIM is NaN for that subject: the rest are averaged
            # (an exact volume's infinite PSNR still counts, as it always did)
            scored = ~np.isnan(values)
            values = values[scored] if scored.any() else values
            metrics[name] = float(values.mean())
            metrics[f'{name}_std'] = float(values.std())
        return metrics


def average_overlaps(ordered):
    """Replace each result's ``(2m+1, H, W)`` prediction of one subject's
    ``ordered`` results by its slice's ``overlap_average`` ``(H, W)``, in
    place (results already averaged are left as they are)."""
    if ordered[0]['pred'].ndim == 2:
        return
    averaged = overlap_average(np.stack([item['pred'] for item in ordered]),
                               [item['slice_index'] for item in ordered])
    for item, image in zip(ordered, averaged):
        item['pred'] = image


def contiguous_stacks(ordered):
    """``(pred, target, brain)`` stacks from the first to the last slice index of
    ``ordered`` (one subject's results in slice order); missing slices are
    background (-1) outside the brain."""
    first = ordered[0]['slice_index']
    count = ordered[-1]['slice_index'] - first + 1
    pred = np.full((count, *ordered[0][TARGET].shape), -1.0, dtype=np.float32)
    target, brain = pred.copy(), np.zeros(pred.shape, dtype=bool)
    for item in ordered:
        k = item['slice_index'] - first
        pred[k], target[k] = item['pred'], item[TARGET]
        brain[k] = foreground(item[TARGET]) if item[BRAIN_MASK] is None else item[BRAIN_MASK]
    return pred, target, brain
