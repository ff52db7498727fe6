"""The scanner/site registry of phantom version 2.

A site is one scanner with one protocol: a sequence per contrast, the
acquisition voxel of each contrast, a noise level, a bias-field strength and
a global intensity scale. The three IXI-like sites follow the protocol that
IXI publishes for its scanners (Guy's: Philips 1.5 T, Hammersmith: Philips
3 T, IOP: GE 1.5 T); the WMH-like site follows the Utrecht scanner of the
MICCAI 2017 WMH challenge (Kuijf et al. 2019). IXI acquired no FLAIR or T2*
and the WMH challenge no T2w/PDw/T2*: those contrasts are estimates of a
typical clinical protocol of the same scanner class. docs/phantom.md lists
every value with its source.
"""
from dataclasses import dataclass

def spgr(tr, te, flip_deg):
    """3-D spoiled gradient echo (T1-FFE / SPGR): T1 weighting by TR and flip angle."""
    return dict(kind='spoiled_gradient_echo', tr=tr, te=te, flip_deg=flip_deg)


def fse(tr, te):
    """Fast (turbo) spin echo; ``te`` is the effective echo time."""
    return dict(kind='fast_spin_echo', tr=tr, te=te)


def flair(tr, ti, te):
    """Inversion recovery with a fast-spin-echo readout, TI near the CSF null."""
    return dict(kind='inversion_recovery', tr=tr, ti=ti, te=te)


def t2star_gre(tr, te, flip_deg):
    """2-D spoiled gradient echo with a long TE: T2* weighting."""
    return dict(kind='spoiled_gradient_echo', tr=tr, te=te, flip_deg=flip_deg)


@dataclass(frozen=True)
class Site:
    """One scanner and its protocol.

    ``sequences`` and ``voxel_mm`` map each contrast to its sequence and its
    acquisition voxel (x, y, z in mm, z the slice direction of 2-D scans);
    ``noise`` is the Rician sigma relative to the mean brain signal,
    ``bias_std`` the std of the log bias field's B-spline coefficients,
    ``scale`` the global intensity scale of the scanner's arbitrary units.
    """
    name: str
    description: str
    field_strength: float
    sequences: dict
    voxel_mm: dict
    noise: float
    bias_std: float
    scale: float


IXI_3D = (0.94, 0.94, 1.2)  # IXI T1w: 256 x 256 x 150 sagittal, 1.2 mm
IXI_2D = (0.94, 0.94, 1.2)  # IXI T2w/PDw dual echo: 1.2 mm slices
CLINICAL_2D = (0.9, 0.9, 3.0)
CLINICAL_2D_5MM = (0.9, 0.9, 5.0)

SITES = {
    'guys': Site(
        name='guys', description="Guy's Hospital, Philips Gyroscan Intera 1.5 T (IXI)",
        field_strength=1.5,
        sequences={'t1': spgr(9.813, 4.603, 8.0), 't2': fse(8178.0, 100.0),
                   'pd': fse(8178.0, 8.0), 'flair': flair(8000.0, 2000.0, 120.0),
                   't2star': t2star_gre(700.0, 25.0, 20.0)},
        voxel_mm={'t1': IXI_3D, 't2': IXI_2D, 'pd': IXI_2D, 'flair': CLINICAL_2D_5MM,
                  't2star': CLINICAL_2D_5MM},
        noise=0.03, bias_std=0.15, scale=1.0),
    'hh': Site(
        name='hh', description='Hammersmith Hospital, Philips Intera 3 T (IXI)',
        field_strength=3.0,
        sequences={'t1': spgr(9.6, 4.6, 8.0), 't2': fse(5725.0, 100.0),
                   'pd': fse(5725.0, 8.0), 'flair': flair(11000.0, 2800.0, 125.0),
                   't2star': t2star_gre(700.0, 20.0, 20.0)},
        voxel_mm={'t1': IXI_3D, 't2': IXI_2D, 'pd': IXI_2D, 'flair': CLINICAL_2D,
                  't2star': CLINICAL_2D},
        noise=0.02, bias_std=0.25, scale=1.4),
    'iop': Site(
        name='iop', description='Institute of Psychiatry, GE Signa 1.5 T (IXI)',
        field_strength=1.5,
        sequences={'t1': spgr(12.0, 4.2, 20.0), 't2': fse(4000.0, 90.0),
                   'pd': fse(4000.0, 12.0), 'flair': flair(9000.0, 2200.0, 140.0),
                   't2star': t2star_gre(600.0, 30.0, 15.0)},
        voxel_mm={'t1': IXI_3D, 't2': (0.94, 0.94, 2.5),
                  'pd': (0.94, 0.94, 2.5), 'flair': CLINICAL_2D_5MM,
                  't2star': CLINICAL_2D_5MM},
        noise=0.035, bias_std=0.15, scale=0.7),
    'utrecht': Site(
        name='utrecht', description='UMC Utrecht, Philips Achieva 3 T (WMH challenge)',
        field_strength=3.0,
        sequences={'t1': spgr(7.9, 4.5, 8.0), 't2': fse(3000.0, 80.0),
                   'pd': fse(3000.0, 10.0), 'flair': flair(11000.0, 2800.0, 125.0),
                   't2star': t2star_gre(800.0, 20.0, 15.0)},
        voxel_mm={'t1': (1.0, 1.0, 1.0), 't2': CLINICAL_2D, 'pd': CLINICAL_2D,
                  'flair': (0.96, 0.95, 3.0), 't2star': CLINICAL_2D},
        noise=0.02, bias_std=0.25, scale=1.2),
}
# The IXI-like sites: what a phantom of version 2 uses when no sites are named.
DEFAULT_SITES = ('guys', 'hh', 'iop')


def resolve_sites(names, option='sites'):
    """The ``Site`` objects of ``names`` (a list, a tuple or a comma-separated
    string); ``ValueError`` naming ``option`` and the valid names otherwise."""
    if isinstance(names, str):
        names = [part.strip() for part in names.split(',') if part.strip()]
    names = list(names)
    valid = ', '.join(SITES)
    if not names:
        raise ValueError(f'{option} is empty; valid sites: {valid}')
    unknown = [name for name in names if name not in SITES]
    if unknown:
        raise ValueError(f'{option}: unknown site {unknown[0]!r}; valid sites: {valid}')
    return [SITES[name] for name in names]


def sites_at_field(field_strength, names=DEFAULT_SITES):
    """Those of ``names`` whose scanner has ``field_strength`` tesla."""
    chosen = [name for name in names if SITES[name].field_strength == float(field_strength)]
    if not chosen:
        raise ValueError(f'field_strength {field_strength!r}: none of the sites '
                         f'{", ".join(names)} has it')
    return chosen


def site_of_subject(index, sites):
    """Subject ``index``'s site: the sites in turn, so any run of ``len(sites)``
    consecutive subjects has one of each."""
    return sites[index % len(sites)]
