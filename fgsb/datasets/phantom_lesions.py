"""White-matter lesions of the phantom: soft ellipsoids at template sites.

See docs/phantom.md.
"""
import numpy as np


def lesion_fraction(rng, template, warp, num_lesions, size=1.0):
    """Dense map in output space of the lesion blobs (0..1, soft 1 mm edge).

    Each lesion is an ellipsoid of a few mm (periventricular ones larger and
    elongated; all axes times ``size``) plus up to two overlapping
    satellites, centred on a template candidate site mapped into the subject.
    """
    fraction = np.zeros(template.shape, np.float32)
    if num_lesions == 0:
        return fraction
    spacing = template.spacing_mm
    for _ in range(num_lesions):
        periventricular = rng.random() < 0.6
        sites = template.periventricular if periventricular else template.deep_wm
        if len(sites) == 0:
            sites = template.deep_wm if periventricular else template.periventricular
        site = sites[rng.integers(len(sites))] + rng.uniform(-0.5, 0.5, 3)
        centre = warp.inverse(site[:, None].astype(np.float32))[:, 0]
        long_axis = rng.uniform(3.0, 8.0) if periventricular else rng.uniform(1.5, 4.0)
        axes_mm = np.array([long_axis, rng.uniform(1.5, 4.0), rng.uniform(1.5, 4.0)]) * size
        for blob in range(1 + rng.integers(3)):
            offset = rng.uniform(-0.8, 0.8, 3) * axes_mm / spacing if blob else 0.0
            scale = 1.0 if blob == 0 else rng.uniform(0.5, 0.9)
            _add_ellipsoid(fraction, centre + offset, scale * axes_mm / spacing,
                           _random_rotation(rng), edge=1.0 / spacing)
    return fraction


class IdentityWarp:
    """The warp of a template-space lesion map: sites stay where they are."""

    @staticmethod
    def inverse(points):
        return points


# Fazekas grade -> (periventricular cap thickness in mm, range of the number
# of focal lesions, their size factor): 0 none; 1 punctate foci and thin
# caps; 2 beginning confluence and a smooth halo; 3 large confluent caps
# (after Fazekas et al. 1987; the numbers are estimates).
FAZEKAS_LESIONS = {0: (0.0, (0, 0), 1.0), 1: (1.0, (1, 4), 0.6),
                   2: (2.5, (4, 10), 1.0), 3: (5.0, (8, 16), 1.3)}
CAP_MODULATION_STD = 0.5


def fazekas_lesions(rng, template, grade):
    """Template-space map of the focal lesions of a Fazekas ``grade`` and the
    cap thickness (mm); the caps follow the (atrophied) ventricles, so the
    subject builds them with ``periventricular_caps``."""
    cap_mm, (low, high), size = FAZEKAS_LESIONS[grade]
    count = int(rng.integers(low, high + 1))
    return lesion_fraction(rng, template, IdentityWarp, count, size=size), cap_mm, count


def periventricular_caps(ventricle_distance_mm, cap_mm, modulation):
    """A band around the ventricles ``cap_mm * (1 + modulation)`` thick with a
    1 mm edge: irregular where the smooth ``modulation`` varies."""
    if cap_mm == 0:
        return np.zeros_like(ventricle_distance_mm)
    thickness = cap_mm * np.clip(1 + modulation, 0.2, None)
    return np.clip(thickness - ventricle_distance_mm + 0.5, 0, 1).astype(np.float32)


def _random_rotation(rng):
    q, r = np.linalg.qr(rng.standard_normal((3, 3)))
    return q * np.sign(np.diag(r))


def _add_ellipsoid(fraction, centre, semi_axes, rotation, edge):
    """``fraction = max(fraction, soft ellipsoid)``, in a box around the centre."""
    radius = int(np.ceil(semi_axes.max() + edge + 1))
    lo = np.maximum(np.floor(centre).astype(int) - radius, 0)
    hi = np.minimum(np.floor(centre).astype(int) + radius + 1, fraction.shape)
    if np.any(hi <= lo):
        return
    grid = np.stack(np.meshgrid(*[np.arange(a, b) for a, b in zip(lo, hi)], indexing='ij'))
    offsets = grid.reshape(3, -1) - centre[:, None]
    local = rotation.T @ offsets / semi_axes[:, None]
    r = np.sqrt((local ** 2).sum(0))
    # 0.5 on the ellipsoid surface, ramping over `edge` voxels either side
    blob = np.clip(0.5 + (1 - r) * semi_axes.mean() / max(2 * edge, 1e-6), 0, 1)
    box = tuple(slice(a, b) for a, b in zip(lo, hi))
    np.maximum(fraction[box], blob.reshape(grid.shape[1:]).astype(np.float32),
               out=fraction[box])
