"""The pure steps that ``slice_pipeline`` composes.

docs/method.md §9: intensities normalised to [-1, 1] with robust
per-volume percentiles, slices padded with the minimum intensity to a
square, optionally resized; a head mask for subjects that come without a
brain mask.
"""
import numpy as np
import torch
import torch.nn.functional as F

# A horizontal flip in radiological display is a left-right mirror. In a RAS
# volume left-right is voxel axis 0, which is in-plane axis 0 of an axial
# (axis 2) or coronal (axis 1) slice in the stored orientation.
LEFT_RIGHT_AXIS = 0


def robust_range(volume, mask, percentiles=(0.5, 99.5), name='volume'):
    """Return ``(lo, hi)``: the given percentiles of ``volume`` inside ``mask``.

    Robust to a few hot or cold voxels, unlike min/max. Raises ``ValueError``
    naming ``name`` when the mask is empty or the intensities inside it are
    constant, since neither can be mapped onto [-1, 1].
    """
    values = volume[mask]
    if values.size == 0:
        raise ValueError(f'{name}: the brain mask is empty, no intensities to normalise')
    lo, hi = np.percentile(values, percentiles)
    if not hi > lo:
        raise ValueError(
            f'{name}: intensities inside the brain mask are constant between the '
            f'{percentiles[0]} and {percentiles[1]} percentiles ({lo}); cannot normalise')
    return float(lo), float(hi)


def normalise(x, lo, hi):
    """Map ``lo -> -1`` and ``hi -> 1`` linearly and clip to [-1, 1]; float32."""
    scaled = 2.0 * (np.asarray(x, dtype=np.float32) - lo) / (hi - lo) - 1.0
    return np.clip(scaled, -1.0, 1.0).astype(np.float32)


def estimate_head_mask(volume, threshold=0.05):
    """The foreground of a volume, ``volume > t``: the head, or the brain of a
    skull-stripped scan. It stands in for the brain mask of subjects that
    come without one.

    ``t`` is ``threshold`` times the 99th percentile of the non-zero voxels,
    so it scales with the scanner's intensity units.
    """
    nonzero = volume[volume > 0]
    if nonzero.size == 0:
        return np.zeros(volume.shape, dtype=bool)
    return volume > threshold * np.percentile(nonzero, 99)


def square_padding(height, width):
    """Padding ``((top, bottom), (left, right))`` that centres an HxW slice
    in a square of side ``max(height, width)``; an odd remainder goes after."""
    side = max(height, width)
    rows, cols = side - height, side - width
    return ((rows // 2, rows - rows // 2), (cols // 2, cols - cols // 2))


def pad_to_square(slices, value):
    """Pad the last two axes of ``slices`` to a centred square with ``value``.

    Returns ``(padded, pad)`` with ``pad`` as from ``square_padding``.
    """
    pad = square_padding(*slices.shape[-2:])
    widths = [(0, 0)] * (slices.ndim - 2) + list(pad)
    return np.pad(slices, widths, mode='constant', constant_values=value), pad


def unpad(array, pad):
    """Cut the padding ``((top, bottom), (left, right))`` off the last two axes."""
    (top, bottom), (left, right) = pad
    height, width = array.shape[-2:]
    return array[..., top:height - bottom, left:width - right]


def resize_slices(slices, shape, mode='bilinear'):
    """Resize the last two axes of ``slices`` (``(H, W)`` or ``(N, H, W)``) to ``shape``.

    ``mode='bilinear'`` for images (anti-aliased when shrinking, so a
    downsized slice is not full of aliasing), ``'nearest'`` for masks
    (``nearest-exact``, which keeps a mask centred). Returns float32 numpy.
    """
    array = np.asarray(slices, dtype=np.float32)
    shape = tuple(int(s) for s in shape)
    if array.shape[-2:] == shape:
        return array.copy()
    batch = torch.from_numpy(np.ascontiguousarray(array.reshape(-1, 1, *array.shape[-2:])))
    if mode == 'bilinear':
        shrinking = shape[0] < array.shape[-2] or shape[1] < array.shape[-1]
        out = F.interpolate(batch, size=shape, mode='bilinear', align_corners=False,
                            antialias=shrinking)
    elif mode == 'nearest':
        out = F.interpolate(batch, size=shape, mode='nearest-exact')
    else:
        raise ValueError(f"resize mode must be 'bilinear' or 'nearest', got {mode!r}")
    return out.numpy().reshape(*array.shape[:-2], *shape)
