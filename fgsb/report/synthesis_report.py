"""The HTML report of one synthesised volume (``tools/synthesize.py --report``).

Rows of axial, coronal and sagittal images through the input, the
synthetic contrast, the uncertainty and, with a reference scan, the real
contrast and the error, each view with its slice slider, and the scores.
"""
import math

import nibabel as nib
import numpy as np

from fgsb.apis.reorientation import Reorientation
from .html_page import render_page
from .panels import (MAX_SLICES, VIEW_AXES, Panel, panel_frames, slice_positions,
                     view_image, view_spacing)

DISPLAY_SIDE = 200  # CSS pixels of a panel's longer side, about
WINDOW_PERCENTILE = 99.5  # uncertainty and error maps: black to this percentile in the brain


def map_window(values, brain):
    """(0, the ``WINDOW_PERCENTILE`` of ``values`` inside ``brain``), never empty."""
    inside = values[brain] if brain.any() else values.ravel()
    top = float(np.percentile(inside, WINDOW_PERCENTILE)) if inside.size else 0.0
    return 0.0, top if top > 0 else 1.0


def synthesis_panels(source, source_range, synthetic, target, brain, uncertainty=None,
                     real=None):
    """The ``Panel``s of a synthesis, all arrays RAS and, but the source, on
    the [0, 1] output scale; the source is shown over its normalisation range."""
    lo, hi = (float(v) for v in source_range)
    panels = [Panel('source', source, lo, hi, caption=f'input, window {lo:.4g} to {hi:.4g}'),
              Panel('synthetic', synthetic, 0.0, 1.0,
                    caption=f'synthetic {target}, window 0 to 1')]
    if uncertainty is not None:
        top = map_window(uncertainty, brain)[1]
        panels.append(Panel('uncertainty', uncertainty, 0.0, top, 'magma',
                            f'std of the samples, 0 to {top:.3g}'))
    if real is not None:
        panels.append(Panel('reference', real, 0.0, 1.0, caption=f'real {target}, 0 to 1'))
        error = np.abs(synthetic - real)
        top = map_window(error, brain)[1]
        panels.append(Panel('error', error, 0.0, top, 'magma',
                            f'|synthetic - real|, 0 to {top:.3g}'))
    return panels


def _display_size(image_shape, spacing, scale):
    rows, cols = image_shape
    return (max(1, round(cols * spacing[1] * scale)), max(1, round(rows * spacing[0] * scale)))


def report_html(panels, brain, zooms, title, subtitle='', metrics=None,
                max_slices=MAX_SLICES):
    """The page of ``panels`` (RAS volumes of one shape, ``brain`` their
    mask, ``zooms`` the RAS voxel sizes in mm): up to ``max_slices`` images
    a view through the brain, the slider starting at the middle one.

    Panels are shown at an integer multiple of their voxels per mm of the
    finest voxel, so that an isotropic volume is scaled pixel for pixel.
    """
    shape = panels[0].data.shape
    finest = min(zooms)
    extent = max(n * z / finest for n, z in zip(shape, zooms))
    scale = max(1, math.ceil(DISPLAY_SIDE / extent)) / finest
    views = {}
    for view in VIEW_AXES:
        positions = slice_positions(brain, view, max_slices)
        image_shape = view_image(panels[0].data, view, 0).shape
        width, height = _display_size(image_shape, view_spacing(zooms, view), scale)
        views[view] = dict(positions=positions, start=len(positions) // 2, panels=[
            dict(key=p.name, name=p.name, caption=p.caption, width=width, height=height,
                 frames=panel_frames(p, view, positions)) for p in panels])
    return render_page(title, subtitle, views, metrics or {})


def synthesis_report(result, source, target, name, metrics=None, real=None):
    """The report page of a ``SynthesisResult``.

    ``source`` is the input's data on its grid, ``real`` the reference on
    the output scale (``reference_on_output_scale``) or None, ``metrics``
    the scores to list, ``name`` the input's name for the title.
    """
    orientation = Reorientation.from_affine(result.affine)
    ras = [None if v is None else orientation.forward(np.asarray(v, dtype=np.float32))
           for v in (source, result.synthetic, result.uncertainty, real)]
    brain = orientation.forward(result.brain_mask)
    zooms = np.zeros(3)
    own_zooms = nib.affines.voxel_sizes(result.affine)
    for axis, (ras_axis, _) in enumerate(orientation.to_training):
        zooms[int(ras_axis)] = own_zooms[axis]
    panels = synthesis_panels(ras[0], result.source_range, ras[1], target, brain,
                              uncertainty=ras[2], real=ras[3])
    correlation = ('' if result.slice_correlation is None
                   else f', slice correlation {result.slice_correlation}')
    subtitle = (f'NFE {result.nfe}, {result.samples} sample(s), {result.sampling} sampling'
                f'{correlation}, seed {result.seed}; neurological convention (the '
                "patient's right on the right); intensities on the output scale [0, 1]")
    return report_html(panels, brain, tuple(zooms), f'{name}: synthetic {target}', subtitle,
                       metrics)
