"""A whole volume to network-sized slices, and network outputs back to a volume.

The forward direction is the training data set's (``volume_cache``):
reorient to the training orientation (RAS), normalise with the robust
percentiles inside the brain mask, take slices along the training axis,
pad with -1 to a centred square, resize to the network size. ``SliceLayout``
undoes the resize, the padding and the slicing; ``Reorientation`` undoes the
reorientation, so that an output lies voxel for voxel on the input's grid.
"""
from dataclasses import dataclass

import nibabel as nib
import numpy as np

from fgsb.datasets.nifti_io import VolumeError
from fgsb.datasets.slice_preprocessing import (normalise, pad_to_square, resize_slices,
                                               robust_range, unpad)
from .synthesis_settings import TRAINING_AXCODES


@dataclass(frozen=True)
class Reorientation:
    """Voxel-axis permutations and flips between a volume's orientation and
    the training orientation; exact (no resampling), so they invert exactly."""
    to_training: np.ndarray
    from_training: np.ndarray

    @classmethod
    def from_affine(cls, affine):
        own = nib.orientations.io_orientation(affine)
        training = nib.orientations.axcodes2ornt(TRAINING_AXCODES)
        return cls(to_training=nib.orientations.ornt_transform(own, training),
                   from_training=nib.orientations.ornt_transform(training, own))

    def forward(self, data):
        return np.ascontiguousarray(nib.orientations.apply_orientation(data, self.to_training))

    def backward(self, data):
        return np.ascontiguousarray(
            nib.orientations.apply_orientation(data, self.from_training))


@dataclass(frozen=True)
class SliceLayout:
    """Where the network-sized slices of a (training-oriented) volume come from.

    ``indices`` are the slices along ``axis`` that went through the network
    (those holding any brain); ``pad`` and ``side`` describe the centred
    square of side ``side`` that was resized to ``size`` x ``size``.
    """
    axis: int
    indices: np.ndarray
    volume_shape: tuple
    pad: tuple
    side: int
    size: int

    def restore(self, batch):
        """``(B, size, size)`` network outputs -> ``(B, H, W)`` in-plane slices."""
        batch = resize_slices(batch, (self.side, self.side), mode='bilinear')
        return np.ascontiguousarray(unpad(batch, self.pad))

    def assemble(self, restored, fill=0.0):
        """Put the restored slices (in ``indices`` order) back into a volume;
        every other slice is ``fill``."""
        in_plane = [n for i, n in enumerate(self.volume_shape) if i != self.axis]
        stack = np.full((self.volume_shape[self.axis], *in_plane), fill, dtype=np.float32)
        stack[self.indices] = restored
        return np.ascontiguousarray(np.moveaxis(stack, 0, self.axis))


def normalisation_range(volume, brain, settings, name):
    """``(lo, hi)``, the robust range of ``volume`` inside ``brain`` that
    ``normalise`` maps onto [-1, 1]; a ``VolumeError`` naming ``name`` when
    there is none (no brain, constant intensities)."""
    try:
        return robust_range(volume, brain, settings.percentiles, name=str(name))
    except ValueError as err:
        raise VolumeError(str(err)) from err


def network_slices(volume, brain, settings, norm_range):
    """The network inputs of every slice holding brain, as training makes them.

    ``volume`` and ``brain`` are training-oriented; ``settings`` is the
    config's ``SliceSettings``. Returns ``(slices, layout)`` with ``slices``
    float32 ``(N, size, size)`` in [-1, 1].
    """
    axis = settings.axis
    brain_stack = np.moveaxis(brain, axis, 0)
    indices = np.flatnonzero(brain_stack.reshape(len(brain_stack), -1).any(axis=1))
    stack = np.moveaxis(volume, axis, 0)[indices]
    # -1 is the normalised minimum: training pads with the minimum intensity
    padded, pad = pad_to_square(normalise(stack, *norm_range), -1.0)
    side = padded.shape[-1]
    size = side if settings.size is None else int(settings.size)
    slices = np.clip(resize_slices(padded, (size, size), mode='bilinear'), -1.0, 1.0)
    layout = SliceLayout(axis=axis, indices=indices, volume_shape=tuple(volume.shape),
                         pad=pad, side=side, size=size)
    return slices.astype(np.float32), layout
