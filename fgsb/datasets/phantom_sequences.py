"""Signal equations of phantom version 2: one pure tissue under one sequence.

The equations are those of ``phantom_tissues`` (steady-state, ideal
spoiling, no slice-profile effects); version 2 adds the fast spin echo,
whose long echo trains keep fat bright (J-coupling is broken up,
Henkelman et al. 1992): a tissue may give an apparent ``t2_fse`` that the
FSE and FLAIR readouts use instead of ``t2``. See docs/phantom.md.
"""
from .phantom_tissues import inversion_recovery, spin_echo, spoiled_gradient_echo

SEQUENCE_KINDS = ('spoiled_gradient_echo', 'fast_spin_echo', 'inversion_recovery')


def _fse_t2(tissue):
    return tissue.get('t2_fse', tissue['t2'])


def sequence_signal(tissue, sequence):
    """Noise-free signal of ``tissue`` (dict t1, t2, t2s, pd[, t2_fse]) under
    ``sequence`` (a dict from ``phantom_sites``), relative to pure water at
    full relaxation."""
    kind = sequence['kind']
    if kind == 'spoiled_gradient_echo':
        return spoiled_gradient_echo(tissue['pd'], tissue['t1'], tissue['t2s'],
                                     sequence['tr'], sequence['te'], sequence['flip_deg'])
    if kind == 'fast_spin_echo':
        return spin_echo(tissue['pd'], tissue['t1'], _fse_t2(tissue), sequence['tr'],
                         sequence['te'])
    if kind == 'inversion_recovery':
        return inversion_recovery(tissue['pd'], tissue['t1'], _fse_t2(tissue),
                                  sequence['tr'], sequence['ti'], sequence['te'])
    raise ValueError(f'unknown sequence kind {kind!r}; expected one of {SEQUENCE_KINDS}')
