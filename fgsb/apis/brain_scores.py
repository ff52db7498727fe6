"""Scores of a synthesised volume inside the brain, at the input's resolution.

The v2 study's headline convention (docs/results_v2.md, "Metrics"): the
volume that ``synthesize_volume`` returns (native grid, [0, 1] output scale,
background 0) against the real scan put on the same scale, with

- PSNR and SSIM inside the brain's 3-D bounding box (data range 1; SSIM is
  the mean 2-D SSIM of the box's slices along the training axis), so that
  the empty field of view around the head neither inflates nor deflates
  them;
- NRMSE (``||real - synthetic|| / ||real||``) over the brain-mask voxels;
- the through-plane error (``fgsb.evaluation.volume_consistency``): mean
  ``|d_z synthetic - d_z real|`` over neighbouring slice pairs in the brain,
  ``z`` the training's slice axis.
"""
import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from fgsb.datasets.slice_pipeline import normalisation_range
from fgsb.datasets.slice_preprocessing import normalise
from fgsb.evaluation.volume_consistency import through_plane_error
from fgsb.evaluation.intensity_scale import to_unit_range
from .reorientation import Reorientation


def on_output_scale(data, brain, lo, hi):
    """``data`` normalised by the range ``(lo, hi)`` onto [0, 1] (clipped), 0
    outside the brain."""
    return np.where(brain, to_unit_range(normalise(data, lo, hi)), 0.0).astype(np.float32)


def real_on_output_scale(data, brain, settings, name):
    """A real scan on the synthesis output scale: its robust brain
    percentiles on [0, 1] (clipped), 0 outside the brain."""
    return on_output_scale(data, brain, *normalisation_range(data, brain, settings.slices, name))


def bounding_box(mask):
    """The smallest box of slices (one ``slice`` an axis) holding ``mask``."""
    where = np.nonzero(mask)
    if not where[0].size:
        raise ValueError('the brain mask is empty: there is no brain to score')
    return tuple(slice(int(w.min()), int(w.max()) + 1) for w in where)


def brain_box_scores(synthetic, real, brain, axis=2):
    """``{'PSNR', 'SSIM', 'NRMSE', 'through_plane_error'}`` of ``synthetic``
    against ``real``.

    Both on [0, 1]; ``brain`` a boolean mask of the same shape; ``axis`` the
    slice axis along which SSIM's 2-D slices are taken.
    """
    if not synthetic.shape == real.shape == brain.shape:
        raise ValueError(f'shapes differ: synthetic {synthetic.shape}, real {real.shape}, '
                         f'brain {brain.shape}')
    box = bounding_box(brain)
    s, r = (np.moveaxis(v[box].astype(np.float64), axis, 0) for v in (synthetic, real))
    inside = brain.astype(bool)
    difference = real[inside].astype(np.float64) - synthetic[inside]
    stacks = [np.moveaxis(v, axis, 0) for v in (synthetic, real, brain.astype(bool))]
    return {
        'PSNR': float(peak_signal_noise_ratio(r, s, data_range=1.0)),
        'SSIM': float(structural_similarity(r, s, data_range=1.0, channel_axis=0)),
        'NRMSE': float(np.linalg.norm(difference) / np.linalg.norm(real[inside])),
        # the consistency scores take [-1, 1] stacks, as the network's
        'through_plane_error': through_plane_error(2.0 * stacks[0] - 1.0,
                                                   2.0 * stacks[1] - 1.0, stacks[2]),
    }


def native_brain_scores(result, real_data, brain, settings, name='reference'):
    """Brain-box scores of a ``SynthesisResult`` against the real scan
    ``real_data`` (same grid), along the training's slice axis."""
    brain = np.asarray(brain, bool)
    real = real_on_output_scale(real_data, brain, settings, name)
    orientation = Reorientation.from_affine(result.affine)
    synthetic, real, brain = (orientation.forward(v) for v in (result.synthetic, real, brain))
    return brain_box_scores(synthetic, real, brain, axis=settings.slices.axis)
