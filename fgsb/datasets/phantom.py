"""The embedded default data: a physics-based brain phantom.

No real MR data set can be downloaded here, so the toolbox's default data
are generated from the MNI ICBM152 2009a anatomy that ``nilearn`` ships in
its wheel. Tissue maps (GM and WM probabilities from the template, CSF as
the rest of the brain) are deformed per subject, white-matter lesions are
added, and every contrast comes from MR signal equations
(``phantom_tissues``). The result is written in the prepared-data layout::

    <root>/phantom_000/{t1,t2,pd,flair,t2star}.nii.gz
                       brain_mask.nii.gz, lesion_mask.nii.gz
    <root>/splits.json   {"train": [...], "test": [...], "meta": {...}}

Everything is deterministic in ``(seed, subject index)``. See docs/phantom.md.
"""
import contextlib
import fcntl
import functools
import json
import numbers
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy import ndimage as ndi

from .nifti_io import save_volume
from .phantom_tissues import MODALITIES, TISSUES, jittered_table, tissue_signal

GENERATOR = 'fgsb-phantom'
# Bump when the generated volumes change, so that cached roots are rebuilt.
VERSION = 1
SUBJECT_ID = 'phantom_{:03d}'
MASKS = ('brain_mask', 'lesion_mask')
TEMPLATE_FILE = 'mni_icbm152_{}_tal_nlin_sym_09a_converted.nii.gz'
SIGNAL_SCALE = 1000.0  # arbitrary units of the written volumes
QUANTUM_INV = 8  # written intensities are multiples of 1/8 a.u.

# Anatomical variation (mm, degrees).
MAX_ROTATION_DEG = 4.0
MAX_SCALING = 0.05
MAX_TRANSLATION_MM = 3.0
DEFORMATION_SPACING_MM = 24.0
DEFORMATION_STD_MM = 4.0  # of the B-spline coefficients; the field's std is ~1.4 mm
# The brain grown by this margin and sampled every 4 mm cannot miss a voxel
# of a subject's brain (4 mm cells move by < 5 mm under the small warps).
REACH_MARGIN_MM = 4.0

# Acquisition: one multiplicative bias field and one noise level per contrast.
BIAS_SPACING_MM = 64.0
BIAS_STD = {1.5: 0.15, 3.0: 0.25}  # of the log-field's coefficients (stronger B1 at 3 T)
NOISE_RANGE = (0.015, 0.03)  # Rician sigma relative to the mean brain signal

TEMPLATE_TISSUES = ('wm', 'gm', 'csf')


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
    _check_count('downsample', downsample, minimum=1)
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
    deep_csf = (csf > 0.5) & (depth > 15)
    labels, count = ndi.label(deep_csf)
    if count == 0:
        raise RuntimeError('no ventricles found in the MNI template')
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    ventricles = (sizes >= 0.05 * sizes.max())[labels]
    from_ventricles = ndi.distance_transform_edt(~ventricles, sampling=spacing)
    periventricular = (wm > 0.9) & (from_ventricles > 1) & (from_ventricles <= 6)
    deep_wm = (wm > 0.95) & (from_ventricles > 10) & (depth > 15)
    return ((np.argwhere(periventricular) * step).astype(np.float32),
            (np.argwhere(deep_wm) * step).astype(np.float32))


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


def _subject_region(template, warp):
    """Output voxels that can hold brain: the warped ``reach`` map checked on a
    4 mm grid, grown by one cell. Everything else stays exactly zero."""
    step = max(1, round(4 / template.spacing_mm))
    grid = np.stack(np.meshgrid(*[np.arange(0, n, step) for n in template.shape],
                                indexing='ij')).reshape(3, -1)
    inside = ndi.map_coordinates(template.reach, warp.source(grid), order=1) > 0
    coarse = ndi.binary_dilation(inside.reshape([len(range(0, n, step))
                                                 for n in template.shape]),
                                  structure=np.ones((3, 3, 3), bool))
    for axis in range(3):
        coarse = np.repeat(coarse, step, axis=axis)
    return coarse[:template.shape[0], :template.shape[1], :template.shape[2]]


def _lesion_fraction(rng, template, warp, num_lesions):
    """Dense map in output space of the lesion blobs (0..1, soft 1 mm edge).

    Each lesion is an ellipsoid of a few mm (periventricular ones larger and
    elongated) plus up to two overlapping satellites, centred on a template
    candidate site mapped into the subject.
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
        axes_mm = np.array([long_axis, rng.uniform(1.5, 4.0), rng.uniform(1.5, 4.0)])
        for blob in range(1 + rng.integers(3)):
            offset = rng.uniform(-0.8, 0.8, 3) * axes_mm / spacing if blob else 0.0
            scale = 1.0 if blob == 0 else rng.uniform(0.5, 0.9)
            _add_ellipsoid(fraction, centre + offset, scale * axes_mm / spacing,
                           _random_rotation(rng), edge=1.0 / spacing)
    return fraction


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


def _subject_rngs(seed, index):
    """Independent streams for anatomy, tissues, lesions and each contrast, so that
    e.g. the field strength (which changes only the physics) keeps the anatomy."""
    streams = np.random.SeedSequence([int(seed), int(index)]).spawn(3 + len(MODALITIES))
    rngs = [np.random.default_rng(s) for s in streams]
    return rngs[0], rngs[1], rngs[2], dict(zip(MODALITIES, rngs[3:]))


def generate_subject(index, seed=0, field_strength=1.5, max_lesions=8, num_lesions=None,
                     downsample=1):
    """One phantom subject as arrays; deterministic in ``(seed, index)``.

    Returns a dict with the contrasts ``t1, t2, pd, flair, t2star`` (float32),
    ``brain_mask`` and ``lesion_mask`` (uint8), ``affine`` (the MNI affine,
    scaled by ``downsample``), ``tissues`` (the warped partial volumes
    ``wm, gm, csf, lesion``) and ``num_lesions``. ``num_lesions=None`` draws
    0..``max_lesions``; ``downsample`` > 1 works on a strided template (tests).
    """
    _check_count('index', index)
    _check_count('seed', seed)
    _check_count('max_lesions', max_lesions)
    template = load_template(downsample)
    anatomy_rng, tissue_rng, lesion_rng, contrast_rngs = _subject_rngs(seed, index)
    table = jittered_table(field_strength, tissue_rng)
    if num_lesions is None:
        num_lesions = int(lesion_rng.integers(0, max_lesions + 1))
    _check_count('num_lesions', num_lesions)

    warp = SubjectWarp(anatomy_rng, template.shape, template.spacing_mm)
    flat = np.flatnonzero(_subject_region(template, warp))
    points = np.stack(np.unravel_index(flat, template.shape))
    coords = warp.source(points)
    warped = np.ascontiguousarray(trilinear_sample(template.tissues, coords).T)
    parts = dict(zip(TEMPLATE_TISSUES, warped))
    # lesions replace white matter only, so they never spill into CSF or cortex
    lesion = _lesion_fraction(lesion_rng, template, warp, num_lesions).reshape(-1)[flat]
    parts['lesion'] = lesion * parts['wm']
    parts['wm'] -= parts['lesion']
    brain = (parts['wm'] + parts['gm'] + parts['csf'] + parts['lesion']) >= 0.5

    # Fortran order is NIfTI's: nibabel then writes the arrays without a copy
    flat_fortran = np.ravel_multi_index(points, template.shape, order='F')

    def dense(values, dtype=np.float32):
        out = np.zeros(template.shape, dtype, order='F')
        out.reshape(-1, order='F')[flat_fortran] = values
        return out

    subject = {'affine': template.affine, 'num_lesions': num_lesions,
               'brain_mask': dense(brain, np.uint8),
               'lesion_mask': dense(brain & (parts['lesion'] >= 0.5), np.uint8),
               'tissues': {name: dense(parts[name]) for name in TISSUES}}
    for modality in MODALITIES:
        signal = sum(parts[t] * np.float32(SIGNAL_SCALE * tissue_signal(table[t], modality))
                     for t in TISSUES)
        subject[modality] = dense(_acquire(signal, brain, flat, template, field_strength,
                                           contrast_rngs[modality]))
    return subject


def _acquire(signal, brain, flat, template, field_strength, rng):
    """Multiplicative bias field, then Rician noise ``|S + n1 + i n2|``; zero
    outside the brain (the phantom is brain-extracted, like the template)."""
    sigma = rng.uniform(*NOISE_RANGE) * float(signal[brain].mean())
    log_bias = smooth_random_field(rng, template.shape, BIAS_SPACING_MM / template.spacing_mm,
                                   BIAS_STD[float(field_strength)])
    signal = signal * np.exp(log_bias.reshape(-1)[flat])
    noise = rng.standard_normal((2, signal.size), dtype=np.float32) * np.float32(sigma)
    signal = np.sqrt((signal + noise[0]) ** 2 + noise[1] ** 2)
    # an ADC of 1/8 a.u., far below the noise: the files compress a third better
    signal = np.round(signal * np.float32(QUANTUM_INV)) / np.float32(QUANTUM_INV)
    return np.where(brain, signal, np.float32(0))


def _meta(num_subjects, seed, field_strength, num_test, max_lesions, downsample):
    return {'generator': GENERATOR, 'version': VERSION, 'seed': int(seed),
            'field_strength': float(field_strength), 'num_subjects': int(num_subjects),
            'num_test': int(num_test), 'max_lesions': int(max_lesions),
            'downsample': int(downsample)}


def _check_count(name, value, minimum=0):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f'{name} must be an integer >= {minimum}, got {value!r}')


def _check_arguments(num_subjects, seed, field_strength, num_test, max_lesions, downsample):
    _check_count('num_subjects', num_subjects, minimum=1)
    _check_count('num_test', num_test)
    if num_test >= num_subjects:
        raise ValueError(f'num_test ({num_test}) must be smaller than num_subjects '
                         f'({num_subjects}): the train split needs a subject')
    _check_count('seed', seed)
    _check_count('max_lesions', max_lesions)
    _check_count('downsample', downsample, minimum=1)
    if not isinstance(field_strength, numbers.Real) or float(field_strength) not in BIAS_STD:
        raise ValueError(f'field_strength must be 1.5 or 3 (tesla), got {field_strength!r}')


def _write_subject(root, subject_id, subject):
    """Write one subject folder atomically: fill a hidden temporary folder,
    then rename it into place (replacing an older version)."""
    tmp = Path(tempfile.mkdtemp(prefix=f'.{subject_id}.', dir=root))
    try:
        for name in MODALITIES + MASKS:
            path = save_volume(subject[name], subject['affine'], tmp / f'{name}.nii.gz',
                               dtype=np.uint8 if name in MASKS else np.float32)
            _make_readable(path)
        _make_readable(tmp)
        final = root / subject_id
        if final.exists():
            old = final.with_name(f'.{subject_id}.old')
            shutil.rmtree(old, ignore_errors=True)
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old)
        else:
            os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _make_readable(path):
    """Temporary files and folders are private (0600/0700); give the data the
    permissions of an ordinary file or folder under the current umask."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, (0o777 if Path(path).is_dir() else 0o666) & ~umask)


def _write_json(path, content):
    fd, tmp = tempfile.mkstemp(prefix=f'.{path.name}.', dir=path.parent)
    with os.fdopen(fd, 'w') as f:
        json.dump(content, f, indent=2)
    _make_readable(tmp)
    os.replace(tmp, path)


def generate_phantom(out_dir, num_subjects=12, seed=0, field_strength=1.5, num_test=4,
                     max_lesions=8, progress=True, downsample=1):
    """Generate a phantom root in the prepared layout; returns its path.

    The last ``num_test`` subjects form the test split. ``splits.json`` is
    removed first and written last, so a root without it is unfinished.
    """
    _check_arguments(num_subjects, seed, field_strength, num_test, max_lesions, downsample)
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    splits_path = root / 'splits.json'
    if splits_path.exists():
        _check_is_phantom(splits_path)
        splits_path.unlink()
    ids = [SUBJECT_ID.format(i) for i in range(num_subjects)]
    indices = range(num_subjects)
    if progress:
        from tqdm import tqdm
        indices = tqdm(indices, desc=f'phantom {root.name}', unit='subject')
    for index in indices:
        subject = generate_subject(index, seed, field_strength, max_lesions=max_lesions,
                                   downsample=downsample)
        _write_subject(root, ids[index], subject)
    num_train = num_subjects - num_test
    _write_json(splits_path, {'train': ids[:num_train], 'test': ids[num_train:],
                              'meta': _meta(num_subjects, seed, field_strength, num_test,
                                            max_lesions, downsample)})
    return root


def _read_splits(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f'{path}: unreadable splits file ({err})') from err


def _check_is_phantom(splits_path):
    """Refuse to overwrite a root that some other tool prepared (real data)."""
    splits = _read_splits(splits_path)
    meta = splits.get('meta') if isinstance(splits, dict) else None
    if not isinstance(meta, dict) or meta.get('generator') != GENERATOR:
        raise ValueError(f'{splits_path}: this root holds data that are not a phantom; '
                         f'refusing to overwrite it (choose another out_dir)')


def _is_complete(root, meta):
    splits_path = root / 'splits.json'
    if not splits_path.is_file():
        return False
    splits = _read_splits(splits_path)
    if splits.get('meta') != meta:
        return False
    ids = splits.get('train', []) + splits.get('test', [])
    return all((root / sid / f'{name}.nii.gz').is_file()
               for sid in ids for name in MODALITIES + MASKS)


@contextlib.contextmanager
def _exclusive_lock(path):
    with open(path, 'a') as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_phantom(out_dir, num_subjects=12, seed=0, field_strength=1.5, num_test=4,
                   max_lesions=8, progress=True, downsample=1):
    """Return ``out_dir`` once it holds the phantom with these parameters.

    Generates it if missing or different; an exclusive lock on
    ``<out_dir>.lock`` makes concurrent callers (DDP ranks, data-loader
    workers) wait for one generator instead of racing.
    """
    _check_arguments(num_subjects, seed, field_strength, num_test, max_lesions, downsample)
    root = Path(out_dir)
    meta = _meta(num_subjects, seed, field_strength, num_test, max_lesions, downsample)
    if _is_complete(root, meta):
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive_lock(root.with_name(root.name + '.lock')):
        if not _is_complete(root, meta):
            generate_phantom(root, num_subjects, seed, field_strength, num_test,
                             max_lesions, progress, downsample)
    return root
