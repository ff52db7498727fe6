"""A source volume read and cut into network inputs, before any model runs.

Everything that can be wrong with an input (an unreadable file, NaN voxels,
an empty or mis-gridded brain mask, constant intensities) is found here, so
that a batch of volumes can be checked whole before the first output is
written.
"""
from dataclasses import dataclass
from os import PathLike
from typing import Optional

import nibabel as nib
import numpy as np

from fgsb.datasets.nifti_io import VolumeError, check_volume, load_volume
from fgsb.datasets.slice_context import neighbour_plan, slice_stacks
from fgsb.datasets.slice_pipeline import (SliceLayout, network_images, normalisation_range,
                                          plan_slices)
from fgsb.datasets.slice_preprocessing import estimate_head_mask
from .reorientation import Reorientation

IN_MEMORY_NAME = '<in-memory image>'


@dataclass
class PreparedVolume:
    """A source volume and its network inputs.

    ``data`` and ``brain`` are on the input's grid, ``training_brain`` is
    ``brain`` in the training orientation; ``slices`` (float32
    ``(N, size, size)`` in [-1, 1]) are the training-oriented slices holding
    brain, which ``layout`` and ``orientation`` put back onto that grid
    (None from ``check_volume_input``, which builds no network inputs).
    With 2.5D input (``context_slices > 0``), ``neighbours`` and
    ``neighbour_positions`` hold the neighbour slices (``neighbour_plan``);
    ``network_inputs`` stacks them as training does.
    """
    image: nib.spatialimages.SpatialImage
    path: Optional[str]
    data: np.ndarray
    brain: np.ndarray
    orientation: Reorientation
    norm_range: tuple
    slices: Optional[np.ndarray]
    layout: SliceLayout
    training_brain: np.ndarray
    neighbours: Optional[np.ndarray] = None
    neighbour_positions: Optional[np.ndarray] = None

    def network_inputs(self, start, stop):
        """The network inputs of slices ``start:stop``: float32 ``(B, C, size,
        size)``, ``C = 2 context_slices + 1`` (``fgsb.datasets.slice_context``)."""
        if self.neighbours is None:
            return self.slices[start:stop, None]
        return slice_stacks(self.slices[start:stop], self.neighbours,
                            self.neighbour_positions[start:stop])

    @property
    def name(self):
        return self.path or IN_MEMORY_NAME

    def to_input_grid(self, restored):
        """Restored in-plane slices -> a float32 volume on the input's grid,
        clipped at 0 and 0 outside the brain."""
        return self.orientation.backward(
            brain_volume(self.layout, restored, self.training_brain))


def brain_volume(layout, restored, brain):
    """Restored in-plane slices (``layout.indices`` order) -> a float32 volume
    in the training orientation, clipped at 0 and 0 outside ``brain``: what
    synthesis makes of the network's slices before reorienting them."""
    volume = np.where(brain, np.clip(layout.assemble(restored), 0.0, None), 0.0)
    return volume.astype(np.float32)


def _read_input(image):
    """``(image, data, path)`` of a path or a nibabel image (``path`` None when
    it has no file), with load_volume's checks."""
    if isinstance(image, (str, PathLike)):
        image_obj, data = load_volume(image)
        return image_obj, data, str(image)
    path = image.get_filename()
    data = check_volume(np.asarray(image.dataobj, dtype=np.float32), path or IN_MEMORY_NAME)
    return image, data, path


def _read_brain_mask(mask, image, shape, name):
    """A boolean mask on the input's grid from a path, an image or an array."""
    if isinstance(mask, (str, PathLike)):
        mask_image, data = load_volume(mask)
        if data.shape != shape or not np.allclose(mask_image.affine, image.affine, atol=1e-3):
            raise VolumeError(f'{mask}: the brain mask (shape {data.shape}) is not on the grid '
                              f'of {name} (shape {shape}, same affine needed)')
        return data > 0.5
    data = np.asarray(mask.dataobj if hasattr(mask, 'dataobj') else mask)
    if data.shape != shape:
        raise VolumeError(f'brain mask of shape {data.shape} for {name} of shape {shape}')
    return data > 0.5


def prepare_volume(image, settings, brain_mask=None):
    """The ``PreparedVolume`` of ``image`` (a NIfTI path or a nibabel image,
    any orientation) for a model trained with ``settings``
    (``SynthesisSettings``).

    ``brain_mask``: path, image or array on the input's grid; default: the
    head mask training uses for subjects without a brain mask. Raises
    ``VolumeError`` naming the file for unusable input.
    """
    return _prepare(image, settings, brain_mask, network_inputs=True)


def check_volume_input(image, settings, brain_mask=None):
    """Every check of ``prepare_volume``, in its order, without building the
    network inputs: a ``PreparedVolume`` whose ``slices`` is None."""
    return _prepare(image, settings, brain_mask, network_inputs=False)


def _prepare(image, settings, brain_mask, network_inputs):
    image, data, path = _read_input(image)
    name = path or IN_MEMORY_NAME
    if brain_mask is None:
        brain = estimate_head_mask(data, settings.slices.mask_threshold)
    else:
        brain = _read_brain_mask(brain_mask, image, data.shape, name)
    if not brain.any():
        raise VolumeError(f'{name}: the brain mask is empty, nothing to synthesise')
    orientation = Reorientation.from_affine(image.affine)
    volume, brain_t = orientation.forward(data), orientation.forward(brain)
    norm_range = normalisation_range(volume, brain_t, settings.slices, name)
    layout = plan_slices(brain_t, settings.slices, min_brain_fraction=None, name=name)
    slices = network_images(volume, layout, norm_range) if network_inputs else None
    neighbours = positions = None
    if network_inputs and settings.slices.context_slices:
        neighbour_layout, positions = neighbour_plan(layout, settings.slices.context_slices)
        neighbours = network_images(volume, neighbour_layout, norm_range)
    return PreparedVolume(image=image, path=path, data=data, brain=brain,
                          orientation=orientation, norm_range=norm_range,
                          slices=slices, layout=layout, training_brain=brain_t,
                          neighbours=neighbours, neighbour_positions=positions)
