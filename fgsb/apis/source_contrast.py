"""Warn when an input looks like another contrast than the model's source.

A T1w -> T2w model fed a FLAIR scan still produces an image, just a wrong
one; the only hint is the user's word (``--source-contrast``) or the file
name (``sub01_FLAIR.nii.gz``, ``IXI002-Guys-0828-T1.nii.gz``).
"""
import re
from pathlib import Path

# Spellings of a contrast in file names and configs -> the prepared-layout key.
CONTRAST_ALIASES = {
    't1': 't1', 't1w': 't1', 'mprage': 't1',
    't2': 't2', 't2w': 't2',
    'pd': 'pd', 'pdw': 'pd',
    'flair': 'flair', 't2flair': 'flair',
    't2star': 't2star', 't2s': 't2star',
    't1ce': 't1ce', 't1c': 't1ce', 't1gd': 't1ce',
}


def canonical_contrast(name):
    """The prepared-layout key of a contrast name (unknown names lower-cased)."""
    key = re.sub(r'[^a-z0-9]', '', str(name).lower())
    return CONTRAST_ALIASES.get(key, key)


def contrast_from_filename(path):
    """The one contrast a file name mentions, or None (none or several)."""
    name = Path(path).name.lower()
    for suffix in ('.nii.gz', '.nii'):
        if name.endswith(suffix):
            name = name[:-len(suffix)]
            break
    found = {CONTRAST_ALIASES[token] for token in re.split(r'[^a-z0-9]+', name)
             if token in CONTRAST_ALIASES}
    return found.pop() if len(found) == 1 else None


def source_contrast_mismatch(model_source, path=None, declared=None):
    """A warning message when the input's contrast is known and is not the
    model's source, else None. ``declared`` wins over the file name."""
    if declared is not None:
        given, origin = canonical_contrast(declared), 'declared'
    elif path is not None:
        given, origin = contrast_from_filename(path), 'named in the file name'
    else:
        return None
    expected = canonical_contrast(model_source)
    if given is None or given == expected:
        return None
    where = f'{path}: ' if path is not None else ''
    return (f'{where}input contrast {given!r} ({origin}) differs from the source '
            f'contrast {model_source!r} the model was trained on; the synthetic image '
            'will not be meaningful')
