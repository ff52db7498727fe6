"""The study's comparison tables, each over the rows that differ in one
factor only: training subjects (the data-size curve), training and test
site (across sites), and brain-extracted against ``--head`` data.

Every cell is a row's seed mean PSNR (± the seed std) / SSIM with its
seed count; rows hold the CSV's values (``table.experiment_row``).
"""
from .manifest import PHANTOM_SITES, T2

ALL_SITES = 'all'


def _cell(row):
    if row is None:
        return '-'
    std = row['PSNR_seed_std']
    psnr = f'{row["PSNR_mean"]:.2f}' + ('' if std is None else f' ± {std:.2f}')
    return f'{psnr} / {row["SSIM_mean"]:.4f} ({row["seeds"]})'


def _plain_t2(row):
    """A 2-D, independently sampled T1->T2 row (the factors held fixed)."""
    return row['task'] == T2 and row['input'] == '2d' and row['sampling'] == 'independent'


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
