"""Per-subject biology of phantom version 2: age, tissue values, lesion load.

A subject's biology is drawn once from its own random stream and does not
depend on the site, so the same subject scanned at two sites is the same
person (a "travelling subject"). The tissue table of a subject at a field
strength is the literature mean at that field times the subject's relative
factors. See docs/phantom.md for every value and its source.
"""
from dataclasses import dataclass

import numpy as np

from .phantom_tissues import RELAXATION

HEAD_TISSUES = ('skull', 'marrow', 'muscle', 'fat', 'skin')
PARAMETERS = ('t1', 't2', 't2s', 'pd')

# Extra-cerebral tissues (ms; PD relative to water). Muscle, subcutaneous fat
# and (fatty) marrow T1/T2 from Gold et al. 2004; cortical bone, skin, T2*
# and PD are estimates. ``t2_fse``: fat's apparent T2 under a fast spin echo.
HEAD_RELAXATION = {
    1.5: {
        'skull': dict(t1=300., t2=1., t2s=0.5, pd=0.05),
        'marrow': dict(t1=550., t2=50., t2_fse=120., t2s=30., pd=0.90),
        'muscle': dict(t1=1010., t2=44., t2s=30., pd=0.75),
        'fat': dict(t1=345., t2=58., t2_fse=150., t2s=40., pd=0.95),
        'skin': dict(t1=650., t2=40., t2s=25., pd=0.70),
    },
    3.0: {
        'skull': dict(t1=350., t2=1., t2s=0.4, pd=0.05),
        'marrow': dict(t1=585., t2=50., t2_fse=120., t2s=20., pd=0.90),
        'muscle': dict(t1=1410., t2=50., t2s=25., pd=0.75),
        'fat': dict(t1=380., t2=68., t2_fse=150., t2s=30., pd=0.95),
        'skin': dict(t1=850., t2=38., t2s=20., pd=0.70),
    },
}

# Between-subject relative SD of each parameter (estimates within the spread
# that Wansapura et al. 1999 and Stanisz et al. 2005 report between subjects).
RELATIVE_SD = {'t1': 0.05, 't2': 0.05, 't2s': 0.06, 'pd': 0.03}
AGE_RANGE = (20.0, 86.0)  # IXI's age range
# White matter ages: T1 and T2 rise (estimates, per year above 20).
WM_T1_PER_YEAR = 0.0008
WM_T2_PER_YEAR = 0.0015
# Lesion (WMH) relative to the subject's WM: T1 from nearly isointense to
# clearly dark in T1w, T2 clearly bright (estimates).
LESION_T1_RANGE = (1.3, 2.4)
LESION_T2_RANGE = (1.6, 2.6)
LESION_T2S_RANGE = (1.3, 1.9)
LESION_PD_RANGE = (1.05, 1.2)
# Fazekas grade 0..3 probabilities by age band (estimates after the
# prevalence that de Leeuw et al. 2001 report rising steeply with age).
FAZEKAS_BY_AGE = ((50.0, (0.60, 0.35, 0.05, 0.00)),
                  (70.0, (0.25, 0.45, 0.22, 0.08)),
                  (float('inf'), (0.10, 0.35, 0.35, 0.20)))
# Atrophy by age above 20 (estimates after Scahill et al. 2003 and Salat et
# al. 2004): ventricular volume grows ~2 %/year compounded, the cortex thins.
VENTRICLE_GROWTH_PER_YEAR = 0.02
CORTICAL_THINNING_MM_PER_YEAR = 0.005
# Per-scan receiver gain (log-normal SD; estimate: every scan is rescaled).
GAIN_LOG_SD = 0.10
HEAD_THICKNESS_SD = 0.15


@dataclass(frozen=True)
class Biology:
    """What a subject is, whatever scanner images it."""
    age: float
    fazekas: int
    factors: dict            # tissue -> parameter -> relative factor
    lesion_factors: dict     # parameter -> lesion value / WM value
    gain: float              # per-scan receiver gain (one a subject)
    head_thickness: float    # scale of the extra-cerebral layers

    @property
    def years(self):
        return max(self.age - AGE_RANGE[0], 0.0)

    @property
    def ventricle_growth(self):
        """Relative ventricular volume, 1 at age 20."""
        return float((1 + VENTRICLE_GROWTH_PER_YEAR) ** self.years)

    @property
    def cortical_thinning_mm(self):
        return CORTICAL_THINNING_MM_PER_YEAR * self.years


def _factor(rng, sd):
    """``1 + sd * z`` with ``z`` clipped at two SD, so no tissue order flips."""
    return 1 + sd * float(np.clip(rng.standard_normal(), -2.0, 2.0))


def fazekas_probabilities(age):
    for upper, probabilities in FAZEKAS_BY_AGE:
        if age < upper:
            return probabilities
    raise AssertionError('the last age band is open')


def draw_biology(rng):
    """One subject's biology from ``rng`` (the draw order is fixed)."""
    age = float(rng.uniform(*AGE_RANGE))
    fazekas = int(rng.choice(4, p=fazekas_probabilities(age)))
    factors = {tissue: {name: _factor(rng, RELATIVE_SD[name]) for name in PARAMETERS}
               for tissue in ('wm', 'gm', 'csf') + HEAD_TISSUES}
    lesion_factors = {'t1': rng.uniform(*LESION_T1_RANGE), 't2': rng.uniform(*LESION_T2_RANGE),
                      't2s': rng.uniform(*LESION_T2S_RANGE), 'pd': rng.uniform(*LESION_PD_RANGE)}
    gain = float(np.exp(GAIN_LOG_SD * np.clip(rng.standard_normal(), -2.0, 2.0)))
    head_thickness = _factor(rng, HEAD_THICKNESS_SD)
    return Biology(age=age, fazekas=fazekas, factors=factors,
                   lesion_factors={k: float(v) for k, v in lesion_factors.items()},
                   gain=gain, head_thickness=head_thickness)


def literature_table(field_strength):
    """Mean tissue values at ``field_strength``: brain (``phantom_tissues``) and head."""
    key = float(field_strength)
    table = {t: dict(v) for t, v in RELAXATION[key].items() if t != 'lesion'}
    table.update({t: dict(v) for t, v in HEAD_RELAXATION[key].items()})
    return table


def subject_table(biology, field_strength):
    """The subject's tissue values (brain, lesion and head) at ``field_strength``."""
    table = literature_table(field_strength)
    for tissue, factors in biology.factors.items():
        for name, factor in factors.items():
            table[tissue][name] *= factor
            if name == 't2' and 't2_fse' in table[tissue]:
                table[tissue]['t2_fse'] *= factor
    wm = table['wm']
    wm['t1'] *= 1 + WM_T1_PER_YEAR * biology.years
    wm['t2'] *= 1 + WM_T2_PER_YEAR * biology.years
    table['lesion'] = {name: wm[name] * biology.lesion_factors[name] for name in PARAMETERS}
    return table
