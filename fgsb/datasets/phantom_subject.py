"""One phantom subject: deformed anatomy, lesions, MR physics and acquisition.

Everything is deterministic in ``(seed, subject index)``: independent
random streams drive the anatomy, the tissue jitter, the lesions and each
contrast. See docs/phantom.md.
"""
import numpy as np
from scipy import ndimage as ndi

from .phantom_deformation import (SubjectWarp, coarse_region, dense_writer, smooth_random_field,
                                  trilinear_sample)
from .phantom_lesions import lesion_fraction
from .phantom_template import TEMPLATE_TISSUES, check_count, load_template
from .phantom_tissues import MODALITIES, TISSUES, jittered_table, tissue_signal
from .prepared_layout import BRAIN_MASK, LESION_MASK

SIGNAL_SCALE = 1000.0  # arbitrary units of the written volumes
QUANTUM_INV = 8  # written intensities are multiples of 1/8 a.u.

# Acquisition: one multiplicative bias field and one noise level per contrast.
BIAS_SPACING_MM = 64.0
BIAS_STD = {1.5: 0.15, 3.0: 0.25}  # of the log-field's coefficients (stronger B1 at 3 T)
NOISE_RANGE = (0.015, 0.03)  # Rician sigma relative to the mean brain signal


def _subject_region(template, warp):
    """Output voxels that can hold brain: where the warped ``reach`` map is set
    (``phantom_deformation.coarse_region``)."""
    return coarse_region(template.shape, template.spacing_mm, warp,
                         lambda coords: ndi.map_coordinates(template.reach, coords, order=1) > 0)


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
    check_count('index', index)
    check_count('seed', seed)
    check_count('max_lesions', max_lesions)
    template = load_template(downsample)
    anatomy_rng, tissue_rng, lesion_rng, contrast_rngs = _subject_rngs(seed, index)
    table = jittered_table(field_strength, tissue_rng)
    if num_lesions is None:
        num_lesions = int(lesion_rng.integers(0, max_lesions + 1))
    check_count('num_lesions', num_lesions)

    warp = SubjectWarp(anatomy_rng, template.shape, template.spacing_mm)
    flat = np.flatnonzero(_subject_region(template, warp))
    points = np.stack(np.unravel_index(flat, template.shape))
    coords = warp.source(points)
    warped = np.ascontiguousarray(trilinear_sample(template.tissues, coords).T)
    parts = dict(zip(TEMPLATE_TISSUES, warped))
    # lesions replace white matter only, so they never spill into CSF or cortex
    lesion = lesion_fraction(lesion_rng, template, warp, num_lesions).reshape(-1)[flat]
    parts['lesion'] = lesion * parts['wm']
    parts['wm'] -= parts['lesion']
    brain = (parts['wm'] + parts['gm'] + parts['csf'] + parts['lesion']) >= 0.5

    dense = dense_writer(points, template.shape)
    subject = {'affine': template.affine, 'num_lesions': num_lesions,
               BRAIN_MASK: dense(brain, np.uint8),
               LESION_MASK: dense(brain & (parts['lesion'] >= 0.5), np.uint8),
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
