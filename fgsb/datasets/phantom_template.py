"""The anatomy of the brain phantom: the MNI ICBM152 2009a tissue maps.

The template ships in ``nilearn``'s wheel (no download involved). Its GM and
WM probabilities, CSF as the rest of the brain, a "reach" mask of where a
deformed brain can land, and candidate lesion sites are loaded once a
process. See docs/phantom.md.
"""
import functools
import numbers
import os
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy import ndimage as ndi

TEMPLATE_FILE = 'mni_icbm152_{}_tal_nlin_sym_09a_converted.nii.gz'
TEMPLATE_TISSUES = ('wm', 'gm', 'csf')
# The brain grown by this margin and sampled every 4 mm cannot miss a voxel
# of a subject's brain (4 mm cells move by < 5 mm under the small warps).
REACH_MARGIN_MM = 4.0


@dataclass(frozen=True)
class MNITemplate:
    """Tissue probabilities of the MNI ICBM152 2009a template on one grid.

    ``tissues`` stacks the WM, GM and CSF probabilities as ``(X, Y, Z, 3)``
    float32, so that one interpolation warps all three. ``reach`` is the
    brain mask dilated by a few mm: only output voxels that can land there
    after deformation are computed. ``periventricular`` and ``deep_wm`` list
    candidate lesion centres (voxel indices).
    """
    tissues: np.ndarray
    reach: np.ndarray
    affine: np.ndarray
    spacing_mm: float
    periventricular: np.ndarray
    deep_wm: np.ndarray

    @property
    def shape(self):
        return self.tissues.shape[:3]


def template_dir():
    """The folder of nilearn's packaged MNI files (no download involved)."""
    try:
        import nilearn
    except ImportError as err:
        raise ImportError('the brain phantom needs nilearn, whose wheel ships the MNI '
                          'ICBM152 template: pip install nilearn') from err
    return Path(os.path.dirname(nilearn.__file__)) / 'datasets' / 'data'


def _read_template_map(name, downsample):
    path = template_dir() / TEMPLATE_FILE.format(name)
    if not path.is_file():
        raise FileNotFoundError(f'{path}: MNI template file missing from the nilearn '
                                f'installation (reinstall nilearn)')
    image = nib.load(str(path))
    offset = downsample // 2
    # uint8 on disk, 0..255 for probability 0..1
    data = np.asarray(image.dataobj[offset::downsample, offset::downsample,
                                    offset::downsample], dtype=np.float32) / 255.0
    affine = image.affine @ np.array([[downsample, 0, 0, offset], [0, downsample, 0, offset],
                                      [0, 0, downsample, offset], [0, 0, 0, 1]], float)
    return data, affine


@functools.lru_cache(maxsize=4)
def load_template(downsample=1):
    """Load (once a process) the tissue maps, on a grid strided by ``downsample``.

    The template T1 is already brain-extracted (no holes, no skull), so its
    support is the brain mask; it encloses ventricular and sulcal CSF, which
    is what the template calls neither GM nor WM: ``csf = mask * (1 - gm - wm)``.
    """
    check_count('downsample', downsample, minimum=1)
    t1, affine = _read_template_map('t1', downsample)
    gm, _ = _read_template_map('gm', downsample)
    wm, _ = _read_template_map('wm', downsample)
    brain = t1 > 0
    gm *= brain
    wm *= brain
    csf = np.clip(1.0 - gm - wm, 0.0, 1.0) * brain
    spacing = float(downsample)
    reach_voxels = max(1, round(REACH_MARGIN_MM / spacing))
    reach = ndi.binary_dilation(brain, iterations=reach_voxels).astype(np.float32)
    periventricular, deep_wm = _lesion_sites(brain, wm, csf, spacing)
    tissues = np.ascontiguousarray(np.stack([wm, gm, csf], axis=-1))
    return MNITemplate(tissues=tissues, reach=reach, affine=affine,
                       spacing_mm=spacing, periventricular=periventricular, deep_wm=deep_wm)


def _lesion_sites(brain, wm, csf, spacing):
    """Candidate centres (voxel indices) of periventricular and deep WM lesions.

    Ventricles are the large CSF components deeper than 15 mm inside the
    brain (which leaves sulci and the fissure out); periventricular sites
    are nearly pure WM within 6 mm of them, deep sites pure WM far from
    both the ventricles and the cortex. A 2 mm grid is precise enough and
    keeps the distance transforms cheap.
    """
    step = max(1, round(2.0 / spacing))
    brain, wm, csf = (a[::step, ::step, ::step] for a in (brain, wm, csf))
    spacing = spacing * step
    depth = ndi.distance_transform_edt(brain, sampling=spacing)
    ventricles = ventricle_mask(csf, depth)
    from_ventricles = ndi.distance_transform_edt(~ventricles, sampling=spacing)
    periventricular = (wm > 0.9) & (from_ventricles > 1) & (from_ventricles <= 6)
    deep_wm = (wm > 0.95) & (from_ventricles > 10) & (depth > 15)
    return ((np.argwhere(periventricular) * step).astype(np.float32),
            (np.argwhere(deep_wm) * step).astype(np.float32))


def ventricle_mask(csf, depth):
    """The ventricles: the large CSF components deeper than 15 mm inside the
    brain (``depth`` in mm), which leaves sulci and the fissure out."""
    labels, count = ndi.label((csf > 0.5) & (depth > 15))
    if count == 0:
        raise RuntimeError('no ventricles found in the MNI template')
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    return (sizes >= 0.05 * sizes.max())[labels]


def check_count(name, value, minimum=0):
    """Raise ``ValueError`` naming ``name`` unless ``value`` is an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f'{name} must be an integer >= {minimum}, got {value!r}')
