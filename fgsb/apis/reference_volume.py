"""A synthesised volume against the real scan, voxel by voxel and through-plane.

``reference_scores`` scores the test-set way (PSNR/SSIM/NRMSE of the
training-axis slices with enough brain). This module gives the real scan on
the output scale (for error maps and the report), the through-plane scores
(``consistency_scores``, docs/volumes.md) and the uncertainty's calibration,
all at the input's own resolution.
"""
import numpy as np

from fgsb.evaluation.uncertainty_calibration import calibration_scores
from fgsb.evaluation.volume_consistency import consistency_scores
from .brain_scores import real_on_output_scale
from .reference_scores import read_reference, reference_scores
from .reorientation import Reorientation


def reference_on_output_scale(result, reference, settings):
    """The real scan ``reference`` (a NIfTI path on the input's grid) on the
    ``OUTPUT_SCALE`` of ``result``: its robust range inside the brain mapped
    onto [0, 1] as training maps a target, 0 outside the brain (float32)."""
    data = read_reference(reference, result.synthetic.shape, result.affine)
    return real_on_output_scale(data, result.brain_mask, settings, reference)


def training_axis_stack(result, volume, settings):
    """``volume`` (on the input's grid) as the stack of its training-axis slices."""
    oriented = Reorientation.from_affine(result.affine).forward(volume)
    return np.moveaxis(oriented, settings.slices.axis, 0)


def through_plane_scores(result, real, settings):
    """``consistency_scores`` of ``result`` against ``real`` (on the output
    scale): every training-axis slice, the brain mask deciding what counts."""
    synthetic, real, brain = (training_axis_stack(result, v, settings)
                              for v in (result.synthetic, real, result.brain_mask))
    return consistency_scores(2.0 * synthetic - 1.0, 2.0 * real - 1.0, brain)


def uncertainty_scores(result, real):
    """``calibration_scores`` of a K-sample ``result``'s uncertainty inside its
    brain mask; None for one sample (no uncertainty)."""
    if result.uncertainty is None:
        return None
    return calibration_scores(result.uncertainty, result.synthetic, real, result.brain_mask)


def scores_against_reference(result, reference, settings):
    """``(real, scores)``: the reference on the output scale and every score
    of ``result`` against it: ``reference_scores``'s, ``through_plane_scores``
    and, for K > 1 samples, ``uncertainty_scores``."""
    scores = reference_scores(result, reference, settings)
    real = reference_on_output_scale(result, reference, settings)
    scores.update(through_plane_scores(result, real, settings))
    scores.update(uncertainty_scores(result, real) or {})
    return real, scores
