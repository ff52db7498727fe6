"""Through-plane scores of a restacked volume: reformatted views and the z-gradient.

A volume assembled from independently synthesised axial slices can look
right in every axial slice and still flicker from one slice to the next;
axial PSNR/SSIM barely see it. These scores do (docs/volumes.md):

- ``reformat_scores``: PSNR and SSIM of every axial, coronal and sagittal
  image of the stack, averaged per view over the images that hold brain;
- ``through_plane_error``: the mean absolute difference between the
  slice-direction derivatives of the synthetic and the real volume inside
  the brain.

Conventions are ``volume_scores``'s: stacks ``(slices, H, W)`` in [-1, 1]
(slices along the training axis), scored on [0, 1]. For the default
training axis 2 of an RAS volume the stack's axes are (S, R, A): a coronal
image fixes A (stack axis 2), a sagittal image fixes R (stack axis 1).
"""
import numpy as np
from skimage.metrics import structural_similarity

from .intensity_scale import to_unit_range

# Voxels above the normalised minimum are foreground when no mask is given.
BACKGROUND_LEVEL = -1.0 + 1e-6
# Floor of a view image's MSE: an exact image scores 100 dB, not infinity.
MIN_MSE = 1e-10
SSIM_WINDOW = 7  # skimage's default window
VIEWS = {'axial': 0, 'coronal': 2, 'sagittal': 1}  # the stack axis each view's images fix


def foreground(target):
    """The voxels of a [-1, 1] ``target`` above the normalised minimum."""
    return np.asarray(target) > BACKGROUND_LEVEL


def _checked(prediction, target, brain):
    prediction, target = np.asarray(prediction, np.float64), np.asarray(target, np.float64)
    if prediction.ndim != 3 or prediction.shape != target.shape:
        raise ValueError(f'prediction {prediction.shape} and target {target.shape} must be '
                         'stacks (slices, H, W) of one shape')
    brain = foreground(target) if brain is None else np.asarray(brain, dtype=bool)
    if brain.shape != target.shape:
        raise ValueError(f'brain mask {brain.shape} is not of the stack shape {target.shape}')
    return prediction, target, brain


def _view_images(volume, axis):
    """The images of ``volume`` that fix ``axis``, stacked along a new axis 0."""
    return np.moveaxis(volume, axis, 0)


def _ssim_window(image_shape):
    """skimage's 7-pixel window, shrunk to the largest odd size that fits an
    image thinner than 7; None when the image is thinner than 3."""
    side = min(SSIM_WINDOW, *image_shape)
    side -= 1 - side % 2
    return side if side >= 3 else None


def view_scores(prediction, target, brain, axis):
    """``(PSNR, SSIM)`` of the images fixing ``axis`` that hold brain, each
    the mean over those images of its 2-D score (on [0, 1], data range 1).

    SSIM is NaN when the images are thinner than 3 pixels (no window
    fits); both are NaN when no image holds brain.
    """
    kept = np.flatnonzero(_view_images(brain, axis).reshape(brain.shape[axis], -1).any(1))
    if not kept.size:
        return float('nan'), float('nan')
    pred = _view_images(to_unit_range(prediction), axis)[kept]
    real = _view_images(to_unit_range(target), axis)[kept]
    mse = np.maximum(((pred - real) ** 2).mean(axis=(1, 2)), MIN_MSE)
    psnr = float(np.mean(10.0 * np.log10(1.0 / mse)))
    window = _ssim_window(pred.shape[1:])
    if window is None:
        return psnr, float('nan')
    # channel_axis=0: one 2-D SSIM an image, averaged over the images
    ssim = structural_similarity(real, pred, data_range=1.0, channel_axis=0, win_size=window)
    return psnr, float(ssim)


def reformat_scores(prediction, target, brain=None):
    """``PSNR_<view>`` and ``SSIM_<view>`` for the axial, coronal and sagittal
    images of a stack (``view_scores``).

    ``brain``: boolean mask of the stack's shape that decides which images
    hold brain; default: the target's voxels above the normalised minimum.
    ``SSIM_axial`` is ``volume_scores``'s SSIM when every slice holds brain;
    ``PSNR_<view>`` is a mean of per-image PSNRs, unlike the volume PSNR.
    """
    prediction, target, brain = _checked(prediction, target, brain)
    scores = {}
    for view, axis in VIEWS.items():
        scores[f'PSNR_{view}'], scores[f'SSIM_{view}'] = view_scores(prediction, target,
                                                                     brain, axis)
    return scores


def through_plane_error(prediction, target, brain=None):
    """Mean ``|d_z prediction - d_z target|`` on [0, 1] over the neighbouring
    slice pairs inside the brain.

    ``d_z`` is ``np.diff`` along the slices (axis 0); a pair of voxels
    counts when both lie in ``brain`` (default: the target's foreground).
    NaN when no pair does (a stack of one slice).
    """
    prediction, target, brain = _checked(prediction, target, brain)
    pairs = brain[1:] & brain[:-1]
    if not pairs.any():
        return float('nan')
    gap = np.diff(to_unit_range(prediction), axis=0) - np.diff(to_unit_range(target), axis=0)
    return float(np.abs(gap)[pairs].mean())


def consistency_scores(prediction, target, brain=None):
    """``reformat_scores`` and ``through_plane_error`` of one stack, one dict."""
    scores = reformat_scores(prediction, target, brain)
    scores['through_plane_error'] = through_plane_error(prediction, target, brain)
    return scores
