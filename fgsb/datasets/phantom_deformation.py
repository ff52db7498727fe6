"""The per-subject deformation of the phantom's anatomy.

A subject is the template warped by a small random affine and a smooth
random displacement (a cubic B-spline free-form deformation); the same
smooth fields make the acquisition's bias field. See docs/phantom.md.
"""
import numpy as np
from scipy import ndimage as ndi

# Anatomical variation (mm, degrees).
MAX_ROTATION_DEG = 4.0
MAX_SCALING = 0.05
MAX_TRANSLATION_MM = 3.0
DEFORMATION_SPACING_MM = 24.0
DEFORMATION_STD_MM = 4.0  # of the B-spline coefficients; the field's std is ~1.4 mm


def bspline_matrix(length, spacing):
    """``(length, n_control)`` weights of a cubic B-spline with control points
    every ``spacing`` voxels: ``field = W @ coefficients`` along one axis."""
    n_control = int(np.floor((length - 1) / spacing)) + 4
    position = np.arange(length) / spacing
    cell = np.floor(position).astype(int)
    f = position - cell
    basis = [(1 - f) ** 3 / 6, (3 * f ** 3 - 6 * f ** 2 + 4) / 6,
             (-3 * f ** 3 + 3 * f ** 2 + 3 * f + 1) / 6, f ** 3 / 6]
    weights = np.zeros((length, n_control), np.float32)
    for k, b in enumerate(basis):
        weights[np.arange(length), cell + k] = b
    return weights


def smooth_random_field(rng, shape, spacing, std):
    """A smooth random field: cubic B-spline over N(0, std) control points.

    Evaluated axis by axis (three small matrix products), which is far
    cheaper than interpolating a 3-D grid at every voxel.
    """
    wx, wy, wz = (bspline_matrix(n, spacing) for n in shape)
    coefficients = rng.standard_normal((wx.shape[1], wy.shape[1], wz.shape[1]),
                                       dtype=np.float32) * np.float32(std)
    field = np.einsum('xa,yb,abc->xyc', wx, wy, coefficients, optimize=True)
    return (field.reshape(-1, wz.shape[1]) @ wz.T).reshape(shape)


def trilinear_sample(stacked, coords):
    """Sample ``stacked`` ``(X, Y, Z, C)`` at ``coords`` ``(3, N)``; returns ``(N, C)``.

    Order-1 interpolation like ``scipy.ndimage.map_coordinates``, but the C
    maps share the corner indices and weights, and each corner is one
    contiguous row gather: twice as fast for the phantom's tissue maps.
    Points outside the grid's interior read 0.
    """
    shape = np.array(stacked.shape[:3])
    base = np.floor(coords)
    frac = coords - base
    base = base.astype(np.int64)
    inside = np.all((base >= 0) & (base < shape[:, None] - 1), axis=0)
    base[:, ~inside] = 0
    rows = stacked.reshape(-1, stacked.shape[3])
    strides = (shape[1] * shape[2], shape[2], 1)
    origin = base[0] * strides[0] + base[1] * strides[1] + base[2]
    out = np.zeros((coords.shape[1], stacked.shape[3]), np.float32)
    for corner in np.ndindex(2, 2, 2):
        weight = np.where(inside, np.float32(1), np.float32(0))
        for axis, upper in enumerate(corner):
            weight *= frac[axis] if upper else 1 - frac[axis]
        offset = sum(s * c for s, c in zip(strides, corner))
        out += np.take(rows, origin + offset, axis=0) * weight[:, None]
    return out


def coarse_region(shape, spacing_mm, warp, inside):
    """Output voxels of ``shape`` that can hold brain: ``inside`` (template
    coordinates ``(3, N)`` -> bools ``(N,)``) checked at the warped positions
    of a 4 mm grid, grown by one cell. Everything else stays exactly zero."""
    step = max(1, round(4 / spacing_mm))
    axes = [np.arange(0, n, step) for n in shape]
    grid = np.stack(np.meshgrid(*axes, indexing='ij')).reshape(3, -1)
    coarse = ndi.binary_dilation(inside(warp.source(grid)).reshape([len(a) for a in axes]),
                                 structure=np.ones((3, 3, 3), bool))
    for axis in range(3):
        coarse = np.repeat(coarse, step, axis=axis)
    return coarse[:shape[0], :shape[1], :shape[2]]


def dense_writer(points, shape):
    """``dense(values, dtype=float32)``: a zero volume of ``shape`` holding
    ``values`` at the voxels ``points`` ``(3, N)``. Fortran order is NIfTI's:
    nibabel then writes the arrays without a copy."""
    flat_fortran = np.ravel_multi_index(points, shape, order='F')

    def dense(values, dtype=np.float32):
        out = np.zeros(shape, dtype, order='F')
        out.reshape(-1, order='F')[flat_fortran] = values
        return out
    return dense


class SubjectWarp:
    """Output voxel ``x`` reads the template at ``c + A (x - c) + t + u(x)``:
    a small random affine ``A, t`` about the volume centre ``c`` and a smooth
    random displacement ``u`` (a free-form deformation)."""

    def __init__(self, rng, shape, spacing_mm):
        angles = np.radians(rng.uniform(-MAX_ROTATION_DEG, MAX_ROTATION_DEG, 3))
        scaling = 1 + rng.uniform(-MAX_SCALING, MAX_SCALING, 3)
        self.linear = (_rotation(angles) @ np.diag(scaling)).astype(np.float32)
        self.translation = (rng.uniform(-MAX_TRANSLATION_MM, MAX_TRANSLATION_MM, 3)
                            / spacing_mm).astype(np.float32)
        self.centre = (np.array(shape, np.float32) - 1) / 2
        spacing = DEFORMATION_SPACING_MM / spacing_mm
        self.displacement = [smooth_random_field(rng, shape, spacing,
                                                 DEFORMATION_STD_MM / spacing_mm)
                             for _ in range(3)]
        self.shape = tuple(shape)

    def source(self, points):
        """Template coordinates ``(3, N)`` of output voxel indices ``points`` ``(3, N)``."""
        flat = np.ravel_multi_index(points, self.shape)
        centred = points.astype(np.float32) - self.centre[:, None]
        coords = self.linear @ centred + (self.centre + self.translation)[:, None]
        for axis in range(3):
            coords[axis] += self.displacement[axis].reshape(-1)[flat]
        return coords

    def inverse(self, template_points, iterations=8):
        """Output coordinates of template coordinates ``(3, N)``, by fixed-point
        iteration on ``x = c + A^-1 (p - c - t - u(x))`` (u is small and smooth)."""
        inv = np.linalg.inv(self.linear)
        target = template_points - (self.centre + self.translation)[:, None]
        x = inv @ target + self.centre[:, None]
        for _ in range(iterations):
            u = np.stack([ndi.map_coordinates(d, x, order=1, mode='nearest')
                          for d in self.displacement])
            x = inv @ (target - u) + self.centre[:, None]
        return x


def _rotation(angles):
    cx, cy, cz = np.cos(angles)
    sx, sy, sz = np.sin(angles)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ ry @ rx
