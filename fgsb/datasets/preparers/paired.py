"""Any paired data set with one folder a subject, e.g. a hospital's own scans.

Each modality is found by a glob pattern inside the subject's folder. The
set is taken as co-registered (same grid for every file) unless
``register`` asks for rigid registration to the reference modality.
"""
import argparse

from fgsb.registry import PREPARERS

from .base import BasePreparer, PreparationError, SkipSubject, Skipped, Subject, find_one


def parse_pattern(text):
    """``'t1=*T1*.nii.gz'`` -> ``('t1', '*T1*.nii.gz')`` (the ``--pattern`` option)."""
    key, sep, pattern = text.partition('=')
    if not sep or not key.strip() or not pattern.strip():
        raise argparse.ArgumentTypeError(
            f'expected KEY=GLOB, e.g. t1="*T1*.nii.gz", got {text!r}')
    return key.strip(), pattern.strip()


@PREPARERS.register_module(name='paired')
class PairedPreparer(BasePreparer):
    """A root with one sub-folder a subject and a glob pattern a modality.

    Args:
        patterns: ``{modality key: glob}`` (or ``(key, glob)`` pairs), relative
            to a subject's folder; ``**`` searches sub-folders.
        modalities: keys to prepare (default: every pattern's key).
        reference: the modality whose grid the others take (default: t1 if
            prepared, else the first).
        lesion_pattern: glob of a lesion label map (optional).
        lesion_labels: labels that count as lesion (default: every label > 0).
        label_space: the modality on whose grid the lesion map and brain-mask
            file lie (default: the reference); they follow its registration.
        **kwargs: see ``BasePreparer``.
    """
    name = 'paired'
    layout = 'one sub-folder a subject holding files that match the --pattern globs'
    has_labels = True
    default_patterns = {}
    default_lesion_pattern = None
    patterns_required = True

    def __init__(self, patterns=None, modalities=None, reference=None, lesion_pattern=None,
                 lesion_labels=None, label_space=None, **kwargs):
        self.patterns = {**self.default_patterns, **dict(patterns or {})}
        modalities = list(modalities or self.default_modalities or self.patterns)
        without = [key for key in modalities if key not in self.patterns]
        if without:
            raise PreparationError(f'no --pattern for modalities {", ".join(without)}')
        if len(modalities) < 2:
            raise PreparationError(f'{self.name} needs at least two modalities, got '
                                   f'{modalities}')
        self.reference = reference or ('t1' if 't1' in modalities else modalities[0])
        self.label_space = label_space
        self.lesion_pattern = lesion_pattern or self.default_lesion_pattern
        self.lesion_labels = tuple(lesion_labels) if lesion_labels else None
        super().__init__(modalities=modalities, **kwargs)

    @classmethod
    def add_arguments(cls, parser):
        super().add_arguments(parser)
        defaults = ' '.join(f'{k}={v}' for k, v in cls.default_patterns.items())
        parser.add_argument('--pattern', dest='patterns', action='append', type=parse_pattern,
                            required=cls.patterns_required, metavar='KEY=GLOB',
                            help='glob of a modality inside a subject folder, e.g. '
                                 't1="*T1*.nii.gz"; repeat for each modality'
                                 + (f' (defaults: {defaults})' if defaults else ''))
        parser.add_argument('--reference', metavar='KEY',
                            help='modality whose grid the others take (default: t1)')
        parser.add_argument('--lesion-pattern', metavar='GLOB',
                            help='glob of a lesion label map inside a subject folder'
                                 + (f' (default: {cls.default_lesion_pattern}, used when '
                                    f'any subject has one)' if cls.default_lesion_pattern
                                    else ''))
        parser.add_argument('--lesion-labels', nargs='+', type=int, metavar='K',
                            help='labels that make the lesion mask (default: every label > 0)')
        parser.add_argument('--mask-space', dest='label_space', metavar='KEY',
                            help='modality on whose grid the lesion map and brain-mask files '
                                 'lie (default: the reference); they follow its registration')

    def settings(self):
        return {**super().settings(), 'patterns': dict(self.patterns),
                'lesion_pattern': self.lesion_pattern}

    def find_subjects(self, root):
        folders = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith('.'))
        folders = [f for f in folders if any(self._matches(f, self.patterns[k])
                                             for k in self.modalities)]
        lesion_pattern = self.lesion_pattern
        if (lesion_pattern is not None and lesion_pattern == self.default_lesion_pattern
                and not any(self._matches(f, lesion_pattern) for f in folders)):
            lesion_pattern = None  # this download has no masks: prepare without them
        subjects, skipped = [], []
        for folder in folders:
            try:
                modalities = {key: find_one(folder, self.patterns[key], key)
                              for key in self.modalities}
                label_map = None
                if lesion_pattern is not None:
                    label_map = find_one(folder, lesion_pattern, 'lesion labels')
                subjects.append(Subject(folder.name, folder, modalities, label_map=label_map,
                                        brain_mask=self.brain_mask_file(folder, folder.name)))
            except SkipSubject as reason:
                skipped.append(Skipped(folder.name, str(reason)))
        return subjects, skipped

    @staticmethod
    def _matches(folder, pattern):
        return any(p.is_file() for p in folder.glob(pattern))
