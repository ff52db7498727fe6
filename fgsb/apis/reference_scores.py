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
from fgsb.datasets.slice_pipeline import normalisation_range, select_slices
from fgsb.datasets.slice_preprocessing import normalise
from fgsb.evaluation.volume_synthesis_metric import volume_scores
from .reorientation import Reorientation

AFFINE_TOLERANCE_MM = 1e-3


def read_reference(reference, shape, affine):
    """The data of the reference scan ``reference``, which must lie on the grid
    ``shape``/``affine`` of the synthesised volume (``VolumeError`` naming it
    otherwise)."""
    image, data = load_volume(reference)
    if data.shape != tuple(shape) or not np.allclose(image.affine, affine,
                                                     atol=AFFINE_TOLERANCE_MM):
        raise VolumeError(f'{reference}: the reference (shape {data.shape}) is not on the '
                          f'grid of the synthesised volume (shape {tuple(shape)}, '
                          'same affine needed)')
    return data


def reference_scores(result, reference, settings):
    """``{'PSNR', 'SSIM', 'NRMSE', 'num_slices'}`` of ``result`` against ``reference``.

    ``result`` is a ``SynthesisResult``; ``reference`` a NIfTI path on the
    same grid as the input (``VolumeError`` naming it otherwise);
    ``settings`` the ``SynthesisSettings`` the result was made with.
    """
    data = read_reference(reference, result.synthetic.shape, result.affine)
    brain = result.brain_mask
    lo, hi = normalisation_range(data, brain, settings.slices, reference)
    # on [-1, 1], what volume_scores expects; background at the minimum
    real = np.where(brain, normalise(data, lo, hi), -1.0)
    synthetic = 2.0 * result.synthetic - 1.0

    orientation = Reorientation.from_affine(result.affine)
    axis = settings.slices.axis
    real, synthetic, brain = (orientation.forward(v) for v in (real, synthetic, brain))
    kept = select_slices(brain, axis, settings.slices.min_brain_fraction)
    if not kept.size:
        kept = select_slices(brain, axis, None)
    real, synthetic = (np.moveaxis(v, axis, 0)[kept] for v in (real, synthetic))
    scores = volume_scores(synthetic, real)
    scores['num_slices'] = int(kept.size)
    return scores
