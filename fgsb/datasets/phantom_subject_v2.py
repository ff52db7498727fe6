"""One subject of phantom version 2: a person (biology) scanned at one site.

The anatomy is the template under the subject's warp (as in version 1),
then aged (``phantom_atrophy``); lesions follow a Fazekas grade
(``phantom_lesions``); with ``head`` the brain is surrounded by the head
layers (``phantom_head``); every contrast is the site's sequence
(``phantom_sequences``) acquired at the site's voxel (``phantom_acquisition``).
Deterministic in ``(seed, index)``; the biology and anatomy do not depend
on the site. See docs/phantom.md.
"""
import numpy as np

from .phantom_acquisition import acquire
from .phantom_atrophy import (atrophied_source, cortical_shift_mm, template_fields,
                              ventricle_shift_mm)
from .phantom_biology import HEAD_TISSUES, draw_biology, subject_table
from .phantom_deformation import (SubjectWarp, coarse_region, dense_writer, smooth_random_field,
                                  trilinear_sample)
from .phantom_head import HEAD_REACH_MM, MODULATION_SPACING_MM, MODULATION_STD, head_fractions
from .phantom_lesions import CAP_MODULATION_STD, fazekas_lesions, periventricular_caps
from .phantom_sequences import sequence_signal
from .phantom_template import REACH_MARGIN_MM, TEMPLATE_TISSUES, check_count, load_template
from .phantom_tissues import MODALITIES, TISSUES
from .prepared_layout import BRAIN_MASK, LESION_MASK

SIGNAL_SCALE = 1000.0
CAP_SPACING_MM = 16.0
STREAM_VERSION = 2  # keeps version 2's random streams apart from version 1's


def _subject_rngs(seed, index):
    names = ('anatomy', 'biology', 'lesions', 'head') + MODALITIES
    streams = np.random.SeedSequence([int(seed), int(index), STREAM_VERSION]).spawn(len(names))
    return dict(zip(names, (np.random.default_rng(s) for s in streams)))


def _region(template, warp, fields, reach_mm):
    """Output voxels whose warped position lies within ``reach_mm`` of the
    template brain (``phantom_deformation.coarse_region``)."""
    return coarse_region(template.shape, template.spacing_mm, warp,
                         lambda coords: fields.outside_distance(coords) <= reach_mm)


def _brain_tissues(template, fields, biology, rng, coords):
    """Partial volumes ``wm, gm, csf, lesion`` at warped ``coords`` after
    atrophy, and the number of focal lesions."""
    source = atrophied_source(coords, fields.sample(fields.shifts, coords),
                              ventricle_shift_mm(fields, biology.ventricle_growth),
                              cortical_shift_mm(biology.cortical_thinning_mm),
                              template.spacing_mm)
    focal, cap_mm, count = fazekas_lesions(rng, template, biology.fazekas)
    stacked = template.tissues
    if count:
        stacked = np.concatenate([stacked, focal[..., None]], axis=-1)
    sampled = np.ascontiguousarray(trilinear_sample(stacked, source).T)
    parts = dict(zip(TEMPLATE_TISSUES, sampled))
    lesion = sampled[3] if count else np.zeros_like(sampled[0])
    if cap_mm:
        modulation = smooth_random_field(rng, fields.outside.shape[:3],
                                         CAP_SPACING_MM / (template.spacing_mm * fields.step),
                                         CAP_MODULATION_STD)
        maps = np.concatenate([fields.ventricle_distance, modulation[..., None]], axis=-1)
        distance, modulation = fields.sample(maps, source).T
        lesion = np.maximum(lesion, periventricular_caps(distance, cap_mm, modulation))
    # lesions replace white matter only, so they never spill into CSF or cortex
    parts['lesion'] = lesion * parts['wm']
    parts['wm'] = parts['wm'] - parts['lesion']
    return parts, count


def generate_subject_v2(index, seed, site, head=False, downsample=1):
    """One subject of version 2 as arrays; deterministic in ``(seed, index)``.

    ``site`` is a ``phantom_sites.Site``. Returns what version 1 returns
    (contrasts, masks, ``affine``, ``tissues``, ``num_lesions``) plus
    ``site`` (its name), ``biology``, ``tissue_table`` (the subject's tissue
    values at the site's field), ``amplitude`` (the signal of pure water at
    full relaxation, in the volumes' units) and the ``record`` written next
    to the volumes. With ``head`` the contrasts show the whole head (noise in the
    air around it); without, they are zero outside the brain mask.
    """
    check_count('index', index)
    check_count('seed', seed)
    template = load_template(downsample)
    fields = template_fields(downsample)
    rngs = _subject_rngs(seed, index)
    biology = draw_biology(rngs['biology'])
    warp = SubjectWarp(rngs['anatomy'], template.shape, template.spacing_mm)
    # a warped brain voxel lies within REACH_MARGIN_MM of the template brain
    reach = HEAD_REACH_MM if head else REACH_MARGIN_MM
    flat = np.flatnonzero(_region(template, warp, fields, reach))
    points = np.stack(np.unravel_index(flat, template.shape))
    coords = warp.source(points)
    outside = fields.outside_distance(coords)
    # brain tissue can only be read near the template brain
    near = np.flatnonzero(outside <= REACH_MARGIN_MM) if head else slice(None)
    inner, count = _brain_tissues(template, fields, biology, rngs['lesions'],
                                  np.ascontiguousarray(coords[:, near]))
    parts = {}
    for name, values in inner.items():
        parts[name] = np.zeros(len(flat), np.float32)
        parts[name][near] = values
    brain_total = parts['wm'] + parts['gm'] + parts['csf'] + parts['lesion']
    brain = brain_total >= 0.5
    if head:
        modulation = smooth_random_field(rngs['head'], template.shape,
                                         MODULATION_SPACING_MM / template.spacing_mm,
                                         MODULATION_STD).reshape(-1)[flat]
        scale = np.float32(biology.head_thickness) * np.clip(1 + modulation, 0.5, None)
        layers = head_fractions(outside, scale, np.clip(1 - brain_total, 0, 1))
        parts['csf'] = parts['csf'] + layers.pop('csf')
        parts.update(layers)
    table = subject_table(biology, site.field_strength)
    tissues = TISSUES + (HEAD_TISSUES if head else ())

    dense = dense_writer(points, template.shape)
    amplitude = np.float32(SIGNAL_SCALE * site.scale * biology.gain)
    brain_mask = dense(brain, np.uint8)
    in_brain = brain_mask > 0
    lesion_mask = dense(brain & (parts['lesion'] >= 0.5), np.uint8)
    subject = {'affine': template.affine, 'num_lesions': count, 'site': site.name,
               'biology': biology, 'tissue_table': table, 'amplitude': float(amplitude),
               BRAIN_MASK: brain_mask, LESION_MASK: lesion_mask,
               'tissues': {name: dense(parts[name]) for name in tissues}}
    for modality in MODALITIES:
        sequence = site.sequences[modality]
        signal = sum(parts[t] * (amplitude * np.float32(sequence_signal(table[t], sequence)))
                     for t in tissues)
        volume = acquire(dense(signal), site.voxel_mm[modality], template.spacing_mm,
                         site.noise, site.bias_std, in_brain, rngs[modality])
        subject[modality] = volume if head else np.where(in_brain, volume, np.float32(0))
    voxel_ml = template.spacing_mm ** 3 / 1000.0
    subject['record'] = {'site': site.name, 'age': round(biology.age, 2),
                         'fazekas': biology.fazekas, 'num_focal_lesions': count,
                         'lesion_volume_ml': round(float(lesion_mask.sum()) * voxel_ml, 3),
                         'head': bool(head)}
    return subject
