"""MR physics of the brain phantom: relaxation times, protocols, signal equations.

Every contrast of the phantom is one sequence applied to the same tissue
maps, so T1w, T2w, PDw, FLAIR and T2* are consistent views of one anatomy.
A voxel's signal is the partial-volume mix ``sum_t p_t * S(tissue t)``.

Relaxation times (ms) and proton densities (relative to water) are rounded
literature values (Wansapura et al. 1999, Stanisz et al. 2005, Peters et al.
2007 for T2*; lesion values for white-matter hyperintensities). They are
approximate by design: the phantom needs plausible contrast, not a
quantitative atlas.
"""
import math

MODALITIES = ('t1', 't2', 'pd', 'flair', 't2star')
TISSUES = ('wm', 'gm', 'csf', 'lesion')
FIELD_STRENGTHS = (1.5, 3.0)

# t1, t2, t2s in ms; pd relative to pure water. At 3 T T1 is longer and
# T2/T2* a little shorter; PD does not depend on the field.
RELAXATION = {
    1.5: {
        'wm': dict(t1=650., t2=80., t2s=65., pd=0.70),
        'gm': dict(t1=1000., t2=100., t2s=85., pd=0.80),
        'csf': dict(t1=4000., t2=2000., t2s=500., pd=1.00),
        'lesion': dict(t1=1100., t2=180., t2s=120., pd=0.85),
    },
    3.0: {
        'wm': dict(t1=850., t2=72., t2s=50., pd=0.70),
        'gm': dict(t1=1350., t2=92., t2s=65., pd=0.80),
        'csf': dict(t1=4300., t2=1800., t2s=400., pd=1.00),
        'lesion': dict(t1=1450., t2=160., t2s=95., pd=0.85),
    },
}

# One protocol for both field strengths, so that 1.5 T and 3 T differ by the
# physics only. T2w/PDw follow IXI's dual echo, FLAIR a clinical protocol;
# FLAIR's TI nulls CSF (T1 ~ 4 s) almost exactly.
SEQUENCES = {
    't1': dict(kind='spin_echo', tr=500., te=15.),
    't2': dict(kind='spin_echo', tr=5725., te=100.),
    'pd': dict(kind='spin_echo', tr=5725., te=8.),
    'flair': dict(kind='inversion_recovery', tr=9000., ti=2500., te=120.),
    't2star': dict(kind='spoiled_gradient_echo', tr=700., te=25., flip_deg=20.),
}


def spin_echo(pd, t1, t2, tr, te):
    """Spin echo: ``S = PD (1 - exp(-TR/T1)) exp(-TE/T2)``."""
    return pd * (1 - math.exp(-tr / t1)) * math.exp(-te / t2)


def inversion_recovery(pd, t1, t2, tr, ti, te):
    """Magnitude inversion recovery (FLAIR):
    ``S = PD |1 - 2 exp(-TI/T1) + exp(-TR/T1)| exp(-TE/T2)``."""
    return pd * abs(1 - 2 * math.exp(-ti / t1) + math.exp(-tr / t1)) * math.exp(-te / t2)


def spoiled_gradient_echo(pd, t1, t2s, tr, te, flip_deg):
    """Spoiled gradient echo (T2*):
    ``S = PD sin(a) (1 - E1) / (1 - cos(a) E1) exp(-TE/T2*)``, ``E1 = exp(-TR/T1)``."""
    alpha = math.radians(flip_deg)
    e1 = math.exp(-tr / t1)
    return pd * math.sin(alpha) * (1 - e1) / (1 - math.cos(alpha) * e1) * math.exp(-te / t2s)


def relaxation_table(field_strength):
    """A copy of the tissue table at ``field_strength`` (1.5 or 3 T)."""
    key = float(field_strength)
    if key not in RELAXATION:
        raise ValueError(f'field_strength must be one of {FIELD_STRENGTHS} (tesla), '
                         f'got {field_strength!r}')
    return {tissue: dict(values) for tissue, values in RELAXATION[key].items()}


def tissue_signal(tissue, modality):
    """Noise-free signal of one pure tissue (a dict t1, t2, t2s, pd) in ``modality``."""
    if modality not in SEQUENCES:
        raise ValueError(f'unknown modality {modality!r}; expected one of {MODALITIES}')
    seq = SEQUENCES[modality]
    if seq['kind'] == 'spin_echo':
        return spin_echo(tissue['pd'], tissue['t1'], tissue['t2'], seq['tr'], seq['te'])
    if seq['kind'] == 'inversion_recovery':
        return inversion_recovery(tissue['pd'], tissue['t1'], tissue['t2'],
                                  seq['tr'], seq['ti'], seq['te'])
    return spoiled_gradient_echo(tissue['pd'], tissue['t1'], tissue['t2s'],
                                 seq['tr'], seq['te'], seq['flip_deg'])


def jittered_table(field_strength, rng, relative_std=0.03):
    """The tissue table with each value scaled by ``1 + N(0, relative_std)``.

    The draw is clipped at two standard deviations so that no subject's
    tissues swap order, and it is independent of the field strength: the
    same rng gives the same relative jitter at 1.5 T and 3 T.
    """
    table = relaxation_table(field_strength)
    for tissue in TISSUES:
        for name in ('t1', 't2', 't2s', 'pd'):
            factor = 1 + relative_std * float(min(max(rng.standard_normal(), -2.0), 2.0))
            table[tissue][name] *= factor
    return table
