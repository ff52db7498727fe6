"""Train/test splits of prepared subjects, deterministic by seed (paper 4.1).

A split by count draws the test subjects with ``choose_subjects``, the rule
``PairedSliceDataset`` uses to pick training subjects, so the same ids and
seed always give the same split on any machine.
"""
from pathlib import Path

from fgsb.datasets.prepared_layout import choose_subjects

from .base import PreparationError


def read_id_list(values):
    """Subject ids from a command-line value: a file of ids, or ids themselves.

    ``values`` is a list of strings; a single existing file is read (ids
    separated by newlines, commas or spaces; ``#`` starts a comment), else
    every value is an id or a comma-separated list of ids.
    """
    if values is None:
        return None
    if len(values) == 1 and Path(values[0]).is_file():
        text = '\n'.join(line.split('#', 1)[0] for line in Path(values[0]).read_text().splitlines())
    else:
        text = ' '.join(values)
    ids = text.replace(',', ' ').split()
    if len(set(ids)) != len(ids):
        twice = sorted({i for i in ids if ids.count(i) > 1})
        raise PreparationError(f'subject ids listed twice: {", ".join(twice)}')
    return ids


def default_test_count(count, default):
    """The test-set size when none is asked: the data set's paper count, else a fifth."""
    return default if default is not None else max(1, round(count / 5))


def check_test_count(count, test_subjects, what='subjects'):
    """Raise ``PreparationError`` unless ``test_subjects`` is at least one and
    leaves one training subject."""
    if test_subjects < 1:
        raise PreparationError(f'--test-subjects {test_subjects}: the test split needs at '
                               f'least 1 subject; pass --test-subjects 1 or more')
    if test_subjects >= count:
        raise PreparationError(
            f'--test-subjects {test_subjects} needs at least {test_subjects + 1} {what}, '
            f'found {count}; pass a smaller --test-subjects or lists of ids')


def split_subjects(ids, test_subjects=None, test_ids=None, train_ids=None, seed=0):
    """``{'train': [...], 'test': [...]}`` of ``ids``, both sorted and disjoint.

    With ``test_ids`` and/or ``train_ids`` the lists decide (a missing one is
    the rest); otherwise ``test_subjects`` ids are drawn by ``seed``. Listed
    ids must be among ``ids``.
    """
    ids = sorted(ids)
    if test_ids is not None or train_ids is not None:
        for name, listed in (('--test-ids', test_ids), ('--train-ids', train_ids)):
            unknown = sorted(set(listed or ()) - set(ids))
            if unknown:
                raise PreparationError(f'{name} lists subjects that are not prepared: '
                                       f'{", ".join(unknown)}')
        both = sorted(set(test_ids or ()) & set(train_ids or ()))
        if both:
            raise PreparationError(f'subjects in both --train-ids and --test-ids: '
                                   f'{", ".join(both)}')
        test = sorted(test_ids) if test_ids is not None else sorted(set(ids) - set(train_ids))
        train = sorted(train_ids) if train_ids is not None else sorted(set(ids) - set(test))
    else:
        check_test_count(len(ids), test_subjects)
        test = sorted(choose_subjects(ids, test_subjects, seed))
        train = sorted(set(ids) - set(test))
    if not train or not test:
        raise PreparationError(f'the split leaves {len(train)} training and {len(test)} test '
                               f'subjects; both need at least one')
    return {'train': train, 'test': test}

