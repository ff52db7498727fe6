"""PSNR, SSIM and NRMSE of a synthesised volume against a real scan.

The real scan is put on the output's scale the way training puts a target
on the model's: its robust percentiles inside the brain mask map onto
[0, 1]; outside the brain it is background (0), as the synthetic volume is.
Slices are taken along the training axis and scored like the test set
(``volume_scores``: the slices whose brain fraction reaches the config's
``min_brain_fraction``), here at the input's own resolution.
"""
import numpy as np

from fgsb.datasets.nifti_io import VolumeError, load_volume
from fgsb.datasets.slice_preprocessing import normalise
from fgsb.evaluation.volume_synthesis_metric import volume_scores
from .volume_slicing import Reorientation, normalisation_range

AFFINE_TOLERANCE_MM = 1e-3


def reference_scores(result, reference, settings):
    """``{'PSNR', 'SSIM', 'NRMSE', 'num_slices'}`` of ``result`` against ``reference``.

    ``result`` is a ``SynthesisResult``; ``reference`` a NIfTI path on the
    same grid as the input (``VolumeError`` naming it otherwise);
    ``settings`` the ``SynthesisSettings`` the result was made with.
    """
    image, data = load_volume(reference)
    if data.shape != result.synthetic.shape or not np.allclose(
            image.affine, result.affine, atol=AFFINE_TOLERANCE_MM):
        raise VolumeError(f'{reference}: the reference (shape {data.shape}) is not on the '
                          f'grid of the synthesised volume (shape {result.synthetic.shape}, '
                          'same affine needed)')
    brain = result.brain_mask
    lo, hi = normalisation_range(data, brain, settings.slices, reference)
    # on [-1, 1], what volume_scores expects; background at the minimum
    real = np.where(brain, normalise(data, lo, hi), -1.0)
    synthetic = 2.0 * result.synthetic - 1.0

    orientation = Reorientation.from_affine(result.affine)
    axis = settings.slices.axis
    real, synthetic, brain = (np.moveaxis(orientation.forward(v), axis, 0)
                              for v in (real, synthetic, brain))
    fractions = brain.reshape(len(brain), -1).mean(axis=1)
    kept = fractions >= settings.slices.min_brain_fraction
    if not kept.any():
        kept = fractions > 0
    scores = volume_scores(synthetic[kept], real[kept])
    scores['num_slices'] = int(kept.sum())
    return scores
