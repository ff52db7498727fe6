"""Volumes cut into the report's axial, coronal and sagittal images.

Volumes are in RAS voxel order (``fgsb.apis.reorientation``). Every image
is shown in the neurological convention: the patient's right on the right,
anterior (axial) or superior (coronal, sagittal) at the top. Each image
becomes a PNG data URI, so that the page needs no other file.
"""
import base64
import io
from dataclasses import dataclass

import numpy as np
from matplotlib import colormaps
from matplotlib.image import imsave

# view -> the RAS axis its images fix
VIEW_AXES = {'axial': 2, 'coronal': 1, 'sagittal': 0}
MAX_SLICES = 48  # images a view: the page stays a few MB for a 1 mm head


@dataclass(frozen=True)
class Panel:
    """One volume of the report: RAS ``data`` shown from ``vmin`` (black) to
    ``vmax`` through ``cmap``; ``caption`` says what it is and its window."""
    name: str
    data: np.ndarray
    vmin: float
    vmax: float
    cmap: str = 'gray'
    caption: str = ''


def view_image(volume, view, index):
    """The ``index``-th image of ``volume`` (RAS) in ``view``, rows top to
    bottom, columns left to right as displayed."""
    image = np.take(volume, index, axis=VIEW_AXES[view])
    # what is left is (first in-plane axis, second): show the first across
    # (R, or A for sagittal) and the second upwards (A or S)
    return np.flipud(image.T)


def view_spacing(zooms, view):
    """(row, column) spacing in mm of a ``view`` image of RAS voxel sizes ``zooms``."""
    across, up = [zooms[a] for a in range(3) if a != VIEW_AXES[view]]
    return up, across


def slice_positions(brain, view, max_slices=MAX_SLICES):
    """Up to ``max_slices`` evenly spaced indices of ``view``'s images that hold
    brain (all of them when fewer), in increasing order."""
    axis = VIEW_AXES[view]
    holding = np.flatnonzero(np.moveaxis(brain, axis, 0).reshape(brain.shape[axis], -1)
                             .any(axis=1))
    if not holding.size:
        holding = np.arange(brain.shape[axis])
    if holding.size <= max_slices:
        return holding
    picks = np.round(np.linspace(holding[0], holding[-1], max_slices)).astype(int)
    return np.unique(picks)


def rgb_image(image, vmin, vmax, cmap):
    """uint8 RGB of a 2-D image windowed to [vmin, vmax] through ``cmap``."""
    span = vmax - vmin if vmax > vmin else 1.0
    scaled = np.clip((np.asarray(image, dtype=np.float64) - vmin) / span, 0.0, 1.0)
    return (colormaps[cmap](scaled)[..., :3] * 255.0 + 0.5).astype(np.uint8)


def png_data_uri(rgb):
    """A ``data:image/png;base64,...`` URI of a uint8 RGB image."""
    buffer = io.BytesIO()
    imsave(buffer, rgb, format='png')
    return 'data:image/png;base64,' + base64.b64encode(buffer.getvalue()).decode('ascii')


def panel_frames(panel, view, positions):
    """The data URIs of ``panel``'s ``view`` images at ``positions``."""
    return [png_data_uri(rgb_image(view_image(panel.data, view, k), panel.vmin, panel.vmax,
                                   panel.cmap))
            for k in positions]
