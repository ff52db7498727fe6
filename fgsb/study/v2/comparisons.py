"""The study's comparison tables, each over the rows that differ in one
factor only: training subjects (the data-size curve), training and test
site (across sites), brain-extracted against ``--head`` data, and how a
volume is made from slices (whole volumes).

A cell of the first three is a row's seed mean PSNR (± the seed std) /
SSIM with its seed count; rows hold the CSV's values
(``table.experiment_row``).
"""
from .manifest import PHANTOM_SITES, STUDY_SIZE, T2

ALL_SITES = 'all'


def plus_minus(mean, std, digits, missing='n/a'):
    """``mean ± std`` to ``digits`` decimals (the mean alone without a std;
    ``missing`` without a mean): every study table's cell."""
    if mean is None:
        return missing
    return f'{mean:.{digits}f}' + ('' if std is None else f' ± {std:.{digits}f}')


def _cell(row):
    if row is None:
        return '-'
    psnr = plus_minus(row['PSNR_mean'], row['PSNR_seed_std'], 2)
    return f'{psnr} / {row["SSIM_mean"]:.4f} ({row["seeds"]})'


def _size(row):
    return row.get('network_size', STUDY_SIZE)


def _plain_t2(row, size=STUDY_SIZE):
    """A 2-D, independently sampled T1->T2 row at network size ``size`` (the
    factors held fixed)."""
    return (row['task'] == T2 and row['input'] == '2d' and row['sampling'] == 'independent'
            and _size(row) == size)


def _methods(rows):
    return list(dict.fromkeys(r['method'] for r in rows))


def _keyed(rows, key):
    """``{key(row): row}``; a ValueError when two rows share a key (a row that
    differs in a factor no table holds fixed would otherwise hide another)."""
    keyed = {}
    for row in rows:
        k = key(row)
        if k in keyed:
            raise ValueError(f'rows {keyed[k]["experiment"]} and {row["experiment"]} fill the '
                             f'same cell {k!r} of a comparison table')
        keyed[k] = row
    return keyed


def data_size_lines(rows):
    """Method by number of training subjects, brain-extracted, every site,
    on the test split; [] without a row trained on more than 2 subjects."""
    members = [r for r in rows if _plain_t2(r) and r['phantom'] == 'stripped'
               and r['train_site'] == ALL_SITES and r['test_site'] == ALL_SITES
               and r['evaluated_on'] == 'test']
    counts = sorted({r['train_subjects'] for r in members})
    methods = _methods(r for r in members if r['train_subjects'] > min(counts, default=0))
    if not methods:
        return []
    lines = ['| method | ' + ' | '.join(f'{n} subjects' for n in counts) + ' |',
             '|---|' + '---|' * len(counts)]
    for method in methods:
        by_count = _keyed((r for r in members if r['method'] == method),
                          lambda r: r['train_subjects'])
        lines.append(f'| {method} | ' + ' | '.join(_cell(by_count.get(n)) for n in counts)
                     + ' |')
    return lines


def cross_site_lines(rows):
    """Method by test site for the rows trained at one site, beside the same
    method trained on the study's 2 subjects of every site; [] without one."""
    members = [r for r in rows if _plain_t2(r) and r['phantom'] == 'stripped'
               and r['train_subjects'] == 2]
    one_site = [r for r in members if r['train_site'] != ALL_SITES]
    if not one_site:
        return []
    columns = (ALL_SITES, *PHANTOM_SITES)
    lines = ['| method | trained at | ' + ' | '.join(
                 'all test subjects' if c == ALL_SITES else f'test at {c}' for c in columns)
             + ' |', '|---|---|' + '---|' * len(columns)]
    for method in _methods(one_site):
        for site in dict.fromkeys([ALL_SITES] + [r['train_site'] for r in one_site
                                                 if r['method'] == method]):
            cells = _keyed((r for r in members
                            if r['method'] == method and r['train_site'] == site
                            and (r['test_site'] != ALL_SITES or r['evaluated_on'] == 'test')),
                           lambda r: r['test_site'])
            if cells:
                where = 'every site' if site == ALL_SITES else site
                lines.append(f'| {method} | {where} | '
                             + ' | '.join(_cell(cells.get(c)) for c in columns) + ' |')
    return lines


def head_lines(rows, baseline):
    """Each method on brain-extracted and ``--head`` data (2 subjects, every
    site, test split) and its PSNR gap to ``baseline``'s on the same data
    (seed means: read them with the seed counts of the cells); [] without a
    head row."""
    members = [r for r in rows if _plain_t2(r) and r['train_subjects'] == 2
               and r['train_site'] == ALL_SITES and r['test_site'] == ALL_SITES
               and r['evaluated_on'] == 'test']
    by_key = _keyed(members, lambda r: (r['method'], r['phantom']))
    methods = _methods(r for r in members if r['phantom'] == 'head')
    if not methods:
        return []

    def gap(method, phantom):
        ours, theirs = by_key.get((method, phantom)), by_key.get((baseline, phantom))
        if ours is None or theirs is None:
            return '-'
        return f'{ours["PSNR_mean"] - theirs["PSNR_mean"]:+.2f}'

    lines = [f'| method | brain-extracted | head | PSNR gap to {baseline}, extracted | '
             f'PSNR gap to {baseline}, head |', '|---|---|---|---|---|']
    for method in methods:
        lines.append(f'| {method} | {_cell(by_key.get((method, "stripped")))} | '
                     f'{_cell(by_key.get((method, "head")))} | {gap(method, "stripped")} | '
                     f'{gap(method, "head")} |')
    return lines


def _pm(mean, std, digits):
    """``plus_minus`` with the comparison tables' '-' for a missing cell."""
    return plus_minus(mean, std, digits, missing='-')


def _change(value, reference):
    if value is None or not reference:
        return '-'
    return f'{100.0 * (value / reference - 1.0):+.0f} %'


def volume_lines(rows):
    """Each method's ways of making a volume from slices (2-D, 2.5D input,
    multi-slice output, shared draws; 2 subjects, every site, test split), at
    each network size: PSNR and through-plane error at native resolution and
    on the network's slices (``tools/test.py``: axial PSNR), each against the
    method's 2-D, independently sampled row of the same size; [] without a
    row that differs from it."""
    members = [r for r in rows if r['task'] == T2 and r['phantom'] == 'stripped'
               and r['train_subjects'] == 2 and r['train_site'] == ALL_SITES
               and r['test_site'] == ALL_SITES and r['evaluated_on'] == 'test']
    by_key = _keyed(members, lambda r: (r['method'], _size(r), r['input'], r['sampling']))
    groups = list(dict.fromkeys((r['method'], _size(r)) for r in members
                                if not _plain_t2(r, _size(r))))
    if not groups:
        return []
    lines = ['| method | network size | input | sampling | seeds | PSNR (dB) | '
             'through-plane error | change | slices: axial PSNR (dB) | '
             'slices: through-plane error | change |',
             '|---|---|---|---|---|---|---|---|---|---|---|']
    for method, size in groups:
        plain = by_key.get((method, size, '2d', 'independent'))
        ordered = sorted((r for r in members if r['method'] == method and _size(r) == size),
                         key=lambda r: (not _plain_t2(r, size), r['sampling'], r['input']))
        for row in ordered:
            if row is plain:
                native_change = slices_change = 'reference'
            else:
                native_change = _change(row['through_plane_error'],
                                        plain and plain['through_plane_error'])
                slices_change = _change(row['through_plane_slices_mean'],
                                        plain and plain['through_plane_slices_mean'])
            cells = (_pm(row['PSNR_mean'], row['PSNR_seed_std'], 2),
                     _pm(row['through_plane_error'], row['through_plane_seed_std'], 4),
                     native_change,
                     _pm(row['PSNR_axial_slices_mean'],
                                 row['PSNR_axial_slices_seed_std'], 2),
                     _pm(row['through_plane_slices_mean'],
                                 row['through_plane_slices_seed_std'], 4),
                     slices_change)
            lines.append(f'| {method} | {size} px | {row["input"]} | {row["sampling"]} | '
                         f'{row["seeds"]} | ' + ' | '.join(cells) + ' |')
    return lines
