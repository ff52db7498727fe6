"""Age-driven atrophy of phantom version 2: a deformation with a controlled Jacobian.

Atrophy grows a region ``S`` (the ventricles; the CSF around the cortex)
outward by an amplitude ``a``: a point reads the template at
``p - a k(s(p)) n(p)``, where ``s`` is the signed distance to ``S``
(positive outside), ``n = grad s`` its unit normal and ``k`` a ramp that is
1 inside ``S`` and falls linearly to 0 over a band ``L`` outside it. The
surface of ``S`` moves out by ``a``; along the normal the Jacobian of the
map is 1 inside ``S`` and beyond the band and ``1 + a / L`` in the band
(tissue there is compressed, never folded, for any ``a < L``).

- ventricular enlargement: ``S`` the ventricles, ``L`` = 15 mm, ``a`` from
  the relative ventricular volume, ``a = (growth - 1) V / A`` (volume ``V``
  and surface area ``A`` of the template's ventricles);
- cortical thinning: ``S`` everything but GM and WM, ``L`` = 3 mm (about
  the cortex's thickness), ``a`` the thinning in mm.

The fields are computed once a process on a 2 mm grid of the template.
See docs/phantom.md.
"""
import functools
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from .phantom_deformation import trilinear_sample
from .phantom_template import load_template, ventricle_mask

FIELD_SPACING_MM = 2.0
VENTRICLE_BAND_MM = 15.0
CORTEX_BAND_MM = 3.0
OFF_GRID_MM = 1000.0
MAX_AMPLITUDE = 0.6  # of the band: the band's Jacobian stays <= 1.6
# The voxel-face area of the thin, folded ventricles on the 2 mm grid
# over-counts the area that the shift actually moves by about 2.5 times
# (measured: with this factor the ventricular CSF gained matches the target).
STAIRCASE_AREA = 2.5


@dataclass(frozen=True)
class TemplateFields:
    """Smooth template-space fields on a grid ``step`` times coarser than the
    template, each ``(X, Y, Z, C)``: ``shifts`` the cortical and the
    ventricular unit shifts ``k n`` (3 channels each), ``ventricle_distance``
    the signed distance to the ventricles and ``outside`` the distance
    outside the brain (mm, 1 channel each)."""
    shifts: np.ndarray
    ventricle_distance: np.ndarray
    outside: np.ndarray
    step: int
    ventricle_volume_ml: float
    ventricle_area_cm2: float

    def sample(self, field, coords):
        """``field`` at template voxel coordinates ``(3, N)``, as ``(N, C)``."""
        return trilinear_sample(field, coords / np.float32(self.step))

    def outside_distance(self, coords):
        """The distance (mm) outside the brain at ``coords`` ``(3, N)``; points
        beyond the template grid are far outside (``trilinear_sample`` reads 0
        there, which would put them on the brain's surface)."""
        scaled = coords / np.float32(self.step)
        limit = np.array(self.outside.shape[:3], np.float32)[:, None] - 1
        inside = np.all((scaled >= 0) & (scaled < limit), axis=0)
        distance = trilinear_sample(self.outside, scaled)[:, 0]
        return np.where(inside, distance, np.float32(OFF_GRID_MM))


def _signed_distance(region, spacing):
    return (ndi.distance_transform_edt(~region, sampling=spacing)
            - ndi.distance_transform_edt(region, sampling=spacing)).astype(np.float32)


def _unit_shift(signed, spacing, band_mm):
    """``k(s) n``: the unit normal of ``s`` scaled by the ramp of the band."""
    gradient = np.stack(np.gradient(signed, spacing))
    norm = np.sqrt((gradient ** 2).sum(0))
    normal = gradient / np.maximum(norm, 1e-6)
    ramp = np.clip(1 - signed / band_mm, 0, 1)
    return (normal * ramp).astype(np.float32)


def _area_cm2(region, spacing):
    faces = sum(np.abs(np.diff(region.astype(np.int8), axis=a)).sum() for a in range(3))
    return float(faces * spacing ** 2 / STAIRCASE_AREA / 100.0)


@functools.lru_cache(maxsize=4)
def template_fields(downsample=1):
    """The atrophy and head fields of ``load_template(downsample)`` (cached)."""
    template = load_template(downsample)
    step = max(1, round(FIELD_SPACING_MM / template.spacing_mm))
    spacing = template.spacing_mm * step
    wm, gm, csf = (template.tissues[::step, ::step, ::step, k] for k in range(3))
    brain = (wm + gm + csf) > 0.5
    parenchyma = (wm + gm) >= 0.5
    depth = ndi.distance_transform_edt(brain, sampling=spacing)
    ventricles = ventricle_mask(csf, depth)
    ventricle_distance = _signed_distance(ventricles, spacing)
    cortex = _unit_shift(_signed_distance(~parenchyma, spacing), spacing, CORTEX_BAND_MM)
    ventricle = _unit_shift(ventricle_distance, spacing, VENTRICLE_BAND_MM)
    outside = ndi.distance_transform_edt(~brain, sampling=spacing).astype(np.float32)
    return TemplateFields(
        shifts=np.ascontiguousarray(np.moveaxis(np.concatenate([cortex, ventricle]), 0, -1)),
        ventricle_distance=ventricle_distance[..., None], outside=outside[..., None],
        step=step, ventricle_volume_ml=float(ventricles.sum() * spacing ** 3 / 1000),
        ventricle_area_cm2=_area_cm2(ventricles, spacing))


def ventricle_shift_mm(fields, growth):
    """The outward shift of the ventricles' surface for a relative volume ``growth``."""
    shift = (growth - 1) * fields.ventricle_volume_ml / fields.ventricle_area_cm2 * 10.0
    return float(min(max(shift, 0.0), MAX_AMPLITUDE * VENTRICLE_BAND_MM))


def cortical_shift_mm(thinning_mm):
    return float(min(max(thinning_mm, 0.0), MAX_AMPLITUDE * CORTEX_BAND_MM))


def atrophied_source(coords, shifts, ventricle_mm, cortex_mm, spacing_mm):
    """Template coordinates read after atrophy, from the warped coordinates
    ``coords`` ``(3, N)`` and the unit ``shifts`` sampled there ``(N, 6)``."""
    shift = (cortex_mm * shifts[:, 0:3] + ventricle_mm * shifts[:, 3:6]) / spacing_mm
    return coords - shift.T.astype(np.float32)


def band_jacobian(amplitude_mm, band_mm):
    """The Jacobian along the normal inside the band: ``1 + a / L``."""
    return 1 + amplitude_mm / band_mm
