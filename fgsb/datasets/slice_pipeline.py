"""The one slice pipeline: a volume to network inputs, network outputs back.

docs/method.md §9. Forward, as training (``volume_cache``) and synthesis
(``fgsb.apis.volume_synthesis``) both use it: the robust range of the
volume inside the brain mask (``normalisation_range``); the slices along
the axis that go through the network (``plan_slices``), recorded in a
``SliceLayout``, the one record of where slices came from; normalisation
to [-1, 1], padding with -1 (the normalised minimum) to a centred square
and resizing to the network size (``network_images``; ``network_masks``
for masks). Inverse: ``SliceLayout.restore`` resizes back and cuts the
padding off, ``SliceLayout.assemble`` puts the slices into the volume.

Training keeps the slices whose brain fraction reaches
``min_brain_fraction`` (background-dominated slices teach nothing);
synthesis keeps every slice holding any brain (the output must cover the
whole brain): ``plan_slices(..., min_brain_fraction=None)``.
"""
from dataclasses import dataclass
from typing import Optional

import numpy as np

from .nifti_io import VolumeError
from .slice_preprocessing import (normalise, pad_to_square, resize_slices, robust_range,
                                  square_padding, unpad)


@dataclass(frozen=True)
class SliceSettings:
    """Everything that decides what a subject's preprocessed slices look like."""
    axis: int = 2
    size: Optional[int] = 256
    min_brain_fraction: float = 0.1
    percentiles: tuple = (0.5, 99.5)
    mask_threshold: float = 0.05
    # neighbour source slices a side fed as extra channels (2.5D, slice_context)
    context_slices: int = 0
    # neighbour target slices a side in a sample's target (multi-slice output)
    target_context_slices: int = 0


@dataclass(frozen=True)
class SliceLayout:
    """Where the network-sized slices of a volume come from.

    ``indices`` are the slices along ``axis`` that go through the network,
    in order; each in-plane slice of the ``volume_shape`` volume was padded
    by ``pad`` (``((top, bottom), (left, right))``) to a square of side
    ``side``, then resized to ``size`` x ``size``.
    """
    axis: int
    indices: tuple
    volume_shape: tuple
    pad: tuple
    side: int
    size: int

    @property
    def in_plane_shape(self):
        return tuple(n for i, n in enumerate(self.volume_shape) if i != self.axis)

    def restore(self, batch):
        """Network-sized slices ``(..., size, size)`` -> in-plane ``(..., H, W)``."""
        batch = np.asarray(batch, dtype=np.float32)
        if batch.shape[-2:] != (self.size, self.size):
            raise ValueError(f'SliceLayout.restore expects slices of shape '
                             f'{(self.size, self.size)}, got {batch.shape[-2:]}')
        batch = resize_slices(batch, (self.side, self.side), mode='bilinear')
        return np.ascontiguousarray(unpad(batch, self.pad))

    def assemble(self, restored, fill=0.0):
        """Put the restored slices (in ``indices`` order) back into a volume;
        every other slice is ``fill``."""
        stack = np.full((self.volume_shape[self.axis], *self.in_plane_shape), fill,
                        dtype=np.float32)
        stack[list(self.indices)] = restored
        return np.ascontiguousarray(np.moveaxis(stack, 0, self.axis))

    def to_record(self):
        """A JSON-able dict (the volume cache stores it); ``from_record`` inverts it."""
        return dict(axis=self.axis, indices=list(self.indices),
                    volume_shape=list(self.volume_shape),
                    pad=[list(pair) for pair in self.pad], side=self.side, size=self.size)

    @classmethod
    def from_record(cls, record):
        return cls(axis=int(record['axis']), indices=tuple(int(k) for k in record['indices']),
                   volume_shape=tuple(int(n) for n in record['volume_shape']),
                   pad=tuple(tuple(int(p) for p in pair) for pair in record['pad']),
                   side=int(record['side']), size=int(record['size']))


def normalisation_range(volume, brain, settings, name):
    """``(lo, hi)``, the robust range of ``volume`` inside ``brain`` that
    ``normalise`` maps onto [-1, 1]; a ``VolumeError`` naming ``name`` when
    there is none (no brain, constant intensities)."""
    try:
        return robust_range(volume, brain, settings.percentiles, name=str(name))
    except ValueError as err:
        raise VolumeError(str(err)) from err


def select_slices(brain, axis, min_brain_fraction):
    """Indices of the slices of ``brain`` along ``axis`` whose brain fraction
    is at least ``min_brain_fraction``; with None, of every slice holding any
    brain. May be empty."""
    brain_stack = np.moveaxis(brain, axis, 0)
    if min_brain_fraction is None:
        return np.flatnonzero(brain_stack.reshape(len(brain_stack), -1).any(axis=1))
    return np.flatnonzero(brain_stack.mean(axis=(1, 2)) >= min_brain_fraction)


def plan_slices(brain, settings, min_brain_fraction, name):
    """The ``SliceLayout`` of the slices of ``brain``'s volume along
    ``settings.axis`` that ``select_slices`` keeps.

    Raises ``ValueError`` naming ``name`` when no slice is kept.
    """
    axis = settings.axis
    indices = select_slices(brain, axis, min_brain_fraction)
    brain_stack = np.moveaxis(brain, axis, 0)
    if indices.size == 0:
        if min_brain_fraction is None:
            rule = 'holds any brain'
        else:
            rule = (f'has a brain fraction >= min_brain_fraction={min_brain_fraction} '
                    f'(largest: {brain_stack.mean(axis=(1, 2)).max():.3f}); lower '
                    'min_brain_fraction or check the brain mask')
        raise ValueError(f'{name}: no slice along axis {axis} {rule}')
    in_plane = brain_stack.shape[1:]
    side = int(max(in_plane))
    pad = tuple(tuple(int(p) for p in pair) for pair in square_padding(*in_plane))
    return SliceLayout(axis=axis, indices=tuple(int(k) for k in indices),
                       volume_shape=tuple(int(n) for n in brain.shape), pad=pad, side=side,
                       size=side if settings.size is None else int(settings.size))


def _layout_slices(volume, layout):
    return np.moveaxis(volume, layout.axis, 0)[list(layout.indices)]


def network_images(volume, layout, norm_range):
    """The network inputs of ``layout``'s slices of ``volume``: float32
    ``(N, size, size)`` in [-1, 1], normalised with ``norm_range``."""
    # -1 is the normalised minimum: padding with it is padding with the
    # minimum intensity (docs/method.md §9)
    padded, _ = pad_to_square(normalise(_layout_slices(volume, layout), *norm_range), -1.0)
    resized = resize_slices(padded, (layout.size, layout.size), mode='bilinear')
    return np.clip(resized, -1.0, 1.0).astype(np.float32)


def network_masks(mask, layout):
    """``layout``'s slices of a boolean ``mask`` at the network size: uint8 {0, 1}."""
    padded, _ = pad_to_square(_layout_slices(mask, layout).astype(np.float32), 0.0)
    resized = resize_slices(padded, (layout.size, layout.size), mode='nearest')
    return (resized > 0.5).astype(np.uint8)
