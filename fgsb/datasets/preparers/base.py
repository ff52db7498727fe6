"""What every data-set preparer shares: subjects, skips and the per-subject recipe.

A preparer knows one raw layout. ``find_subjects`` lists the subjects and
their files; ``prepare`` turns one subject into the volumes of its prepared
folder (docs/data.md): every modality on the reference modality's
RAS grid (rigidly registered to it where the set is not co-registered),
a uint8 brain mask and, where the set has labels, uint8 lesion masks.
"""
import inspect
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from fgsb.datasets.nifti_io import VolumeError
from fgsb.datasets.prepared_layout import BRAIN_MASK

from .head_mask import otsu_head_mask
from .lesion_masks import as_label_map, lesion_masks
from .registration import grid_with_spacing, register_rigid, resample
from .volumes import check_co_registered, load_ras

MODALITY_KEY = re.compile(r'^[a-z][a-z0-9]*$')


class PreparationError(ValueError):
    """A problem with the whole run (raw root, output folder, split ids)."""


class SkipSubject(Exception):
    """Raised while finding one subject's files; the message is the reason."""


@dataclass
class Subject:
    """One subject of a raw data set and the files that make it up."""
    id: str
    folder: Path
    modalities: dict  # modality key -> raw file
    label_map: Optional[Path] = None  # lesion labels (BraTS seg, WMH wmh, ...)
    brain_mask: Optional[Path] = None

    def sources(self):
        """Every raw file by role, as strings (recorded with the prepared folder)."""
        files = {key: str(path) for key, path in self.modalities.items()}
        for role in ('label_map', 'brain_mask'):
            if getattr(self, role) is not None:
                files[role] = str(getattr(self, role))
        return files


@dataclass
class Skipped:
    """A subject left out, and why (listed in the summary and in splits.json)."""
    subject: str
    reason: str


def find_one(folder, pattern, what):
    """The single file under ``folder`` matching the glob ``pattern``, or ``SkipSubject``."""
    matches = sorted(p for p in Path(folder).glob(pattern) if p.is_file())
    if not matches:
        raise SkipSubject(f'missing {what}: no file matches {pattern!r} in {folder}')
    if len(matches) > 1:
        names = ', '.join(p.name for p in matches)
        raise SkipSubject(f'{what} is ambiguous: {len(matches)} files match {pattern!r} '
                          f'in {folder} ({names})')
    return matches[0]


def nifti_file(folder, stem):
    """``folder/stem.nii.gz`` or ``folder/stem.nii``, whichever exists (None if neither)."""
    for suffix in ('.nii.gz', '.nii'):
        path = Path(folder) / f'{stem}{suffix}'
        if path.is_file():
            return path
    return None


class BasePreparer:
    """A raw data set: where its files are and what they mean.

    Subclasses set the class attributes below and implement
    ``find_subjects(root) -> (subjects, skipped)``.

    Args:
        modalities: modality keys to prepare (default: ``default_modalities``).
        register: rigidly register every modality to the reference
            (default: only where the data set is not co-registered).
        spacing: output voxel size in mm (one or three numbers; None: the
            reference modality's own grid).
        per_label_masks: also write ``lesion_label<k>.nii.gz`` per label.
        brain_mask_pattern: glob of a brain-mask file per subject, relative
            to the subject's folder, ``{id}`` standing for the subject id
            (None: estimate the mask from the reference modality).
        registration_iterations: optimiser iterations per resolution level.
    """
    name = ''
    layout = ''  # one line: the raw layout, quoted when nothing is found
    all_modalities = ()
    default_modalities = None  # None: all_modalities
    reference = 't1'
    co_registered = True
    has_labels = False
    label_space = None  # modality whose grid the label map and brain mask share; None: reference
    lesion_labels = None  # labels that make the lesion mask; None: every label > 0
    known_labels = None  # labels of the per-label masks; None: those in each map
    default_test_subjects = None  # None: a fifth of the subjects

    def __init__(self, modalities=None, register=None, spacing=None, per_label_masks=False,
                 brain_mask_pattern=None, registration_iterations=200):
        self.modalities = tuple(modalities or self.default_modalities or self.all_modalities)
        self._check_modalities()
        self.register = (not self.co_registered) if register is None else bool(register)
        if self.register and self.mask_space not in self.modalities:
            raise PreparationError(
                f'the masks lie on the {self.mask_space} grid: with registration, '
                f'{self.mask_space} must be among the modalities {list(self.modalities)}')
        self.spacing = None if spacing is None else self._spacing(spacing)
        self.per_label_masks = bool(per_label_masks)
        self.brain_mask_pattern = brain_mask_pattern
        self.registration_iterations = int(registration_iterations)

    @property
    def mask_space(self):
        """The modality whose grid the label map and brain-mask files share."""
        space = self.label_space or self.reference
        # in a co-registered set every grid is the reference's
        return space if space in self.modalities or self.register else self.reference

    @staticmethod
    def _spacing(spacing):
        values = [float(s) for s in np.atleast_1d(spacing)]
        if len(values) not in (1, 3) or min(values) <= 0:
            raise PreparationError(f'--spacing takes one or three positive sizes in mm, '
                                   f'got {spacing}')
        return tuple(values * 3 if len(values) == 1 else values)

    def _check_modalities(self):
        if len(set(self.modalities)) != len(self.modalities):
            raise PreparationError(f'modalities listed twice: {list(self.modalities)}')
        for key in self.modalities:
            if not MODALITY_KEY.match(key):
                raise PreparationError(f'modality key {key!r} must be lower-case letters and '
                                       f'digits, e.g. t1, t2, flair, t2star')
            if self.all_modalities and key not in self.all_modalities:
                raise PreparationError(f'{self.name} has no modality {key!r}; it has '
                                       f'{", ".join(self.all_modalities)}')
        if self.reference not in self.modalities:
            raise PreparationError(f'the reference modality {self.reference!r} must be '
                                   f'prepared too; got {list(self.modalities)}')

    # ------------------------------------------------------- command line
    @classmethod
    def add_arguments(cls, parser):
        """Add this data set's options to its ``tools/prepare_data.py`` sub-command."""
        choices = cls.all_modalities or None
        default = ' '.join(cls.default_modalities or cls.all_modalities) or 'every --pattern'
        known = f' from {", ".join(cls.all_modalities)}' if choices else ''
        parser.add_argument('--modalities', nargs='+', choices=choices, metavar='KEY',
                            help=f'modalities to prepare{known} (default: {default})')
        if cls.co_registered:
            parser.add_argument('--register', action='store_true', default=None,
                                help='rigidly register every modality to the reference '
                                     '(the raw set is co-registered, so off by default)')
        if cls.has_labels:
            parser.add_argument('--per-label-masks', action='store_true',
                                help='also write lesion_label<k>.nii.gz for every label k')
        parser.add_argument('--spacing', nargs='+', type=float, metavar='MM',
                            help='resample to this voxel size (one or three numbers; '
                                 'default: keep the reference modality\'s grid)')
        parser.add_argument('--brain-mask-pattern', metavar='GLOB',
                            help='brain-mask file of each subject, relative to its folder, '
                                 '{id} standing for the subject id (default: estimate a '
                                 'head mask from the reference modality)')

    @classmethod
    def from_args(cls, args):
        """Build the preparer from parsed options whose names match its arguments."""
        names = set()
        for klass in cls.__mro__:
            if issubclass(klass, BasePreparer):
                names.update(inspect.signature(klass.__init__).parameters)
        return cls(**{n: getattr(args, n) for n in names if getattr(args, n, None) is not None})

    def settings(self):
        """What decides the prepared volumes; a changed setting means re-preparing."""
        return dict(dataset=self.name, modalities=list(self.modalities),
                    reference=self.reference, register=self.register,
                    spacing=None if self.spacing is None else list(self.spacing),
                    per_label_masks=self.per_label_masks,
                    brain_mask_pattern=self.brain_mask_pattern,
                    lesion_labels=None if self.lesion_labels is None else list(
                        self.lesion_labels),
                    mask_space=self.mask_space,
                    registration_iterations=self.registration_iterations)

    # --------------------------------------------------------- discovery
    def find_subjects(self, root):
        """``(subjects, skipped)`` of the raw data set under ``root``."""
        raise NotImplementedError

    def discover(self, root):
        """``find_subjects`` with subjects found twice moved to the skipped list."""
        subjects, skipped = self.find_subjects(Path(root))
        folders = {}
        for subject in subjects:
            folders.setdefault(subject.id, []).append(subject.folder)
        twice = {i for i, found in folders.items() if len(found) > 1}
        skipped = list(skipped) + [
            Skipped(i, 'found more than once: ' + ', '.join(str(f) for f in folders[i]))
            for i in sorted(twice)]
        return [s for s in subjects if s.id not in twice], skipped

    def brain_mask_file(self, folder, subject_id):
        """The subject's brain-mask file when ``brain_mask_pattern`` is set, else None."""
        if self.brain_mask_pattern is None:
            return None
        return find_one(folder, self.brain_mask_pattern.format(id=subject_id), 'brain mask')

    # ------------------------------------------------------- preparation
    def prepare(self, subject):
        """The volumes of ``subject``'s prepared folder: ``(affine, {name: array})``.

        Modalities are float32 on the output grid (the reference modality's
        RAS grid, or that field of view at ``spacing``); masks are uint8.
        Raises ``VolumeError`` naming the file for anything unusable.
        """
        volumes = {key: load_ras(path) for key, path in subject.modalities.items()}
        masks = {role: load_ras(getattr(subject, role), allow_empty=role == 'label_map')
                 for role in ('label_map', 'brain_mask') if getattr(subject, role) is not None}
        self._check_grids(subject, volumes, masks)
        reference = volumes[self.reference]
        grid = (reference.data.shape, reference.affine)
        if self.spacing is not None:
            grid = grid_with_spacing(*grid, self.spacing)
        transforms = {key: self._transform(subject, key, volumes) for key in volumes}
        mask_transform = transforms[self.mask_space]

        out = {key: onto_grid(volume, grid, transforms[key]).astype(np.float32)
               for key, volume in volumes.items()}
        if 'label_map' in masks:
            raw = masks['label_map']
            labels = raw._replace(data=as_label_map(raw.data, subject.label_map))
            labels = np.rint(onto_grid(labels, grid, mask_transform, nearest=True))
            out.update(self._lesion_masks(labels.astype(np.int32)))
        if 'brain_mask' in masks:
            brain = onto_grid(masks['brain_mask'], grid, mask_transform, nearest=True)
            out[BRAIN_MASK] = (brain > 0).astype(np.uint8)
        else:
            out[BRAIN_MASK] = otsu_head_mask(out[self.reference])
        return grid[1], out

    def _check_grids(self, subject, volumes, masks):
        """Co-registered sets: one grid for all. Registered sets: masks on their modality's."""
        mask_files = [(getattr(subject, role), volume) for role, volume in masks.items()]
        if self.register:
            check_co_registered(subject.modalities[self.mask_space],
                                volumes[self.mask_space], mask_files)
        else:
            check_co_registered(subject.modalities[self.reference], volumes[self.reference],
                                [(subject.modalities[k], v) for k, v in volumes.items()]
                                + mask_files)

    def _lesion_masks(self, labels):
        per_label = None
        if self.per_label_masks:
            per_label = self.known_labels or [int(k) for k in np.unique(labels) if k > 0]
        return lesion_masks(labels, self.lesion_labels, per_label)

    def _transform(self, subject, key, volumes):
        """The rigid transform of modality ``key`` onto the reference (None: identity)."""
        if not self.register or key == self.reference:
            return None
        fixed, moving = volumes[self.reference], volumes[key]
        try:
            return register_rigid((fixed.data, fixed.affine), (moving.data, moving.affine),
                                  iterations=self.registration_iterations)
        except RuntimeError as err:  # SimpleITK reports failures as RuntimeError
            detail = str(err).strip().splitlines()[-1]
            raise VolumeError(f'{subject.modalities[key]}: rigid registration to '
                              f'{subject.modalities[self.reference]} failed ({detail})') from err


def onto_grid(volume, grid, transform=None, nearest=False):
    """A ``RasVolume``'s voxels on ``grid = (shape, affine)``, through ``transform``.

    A volume already on the grid with no transform is returned as it is,
    so a co-registered set keeps its exact voxel values.
    """
    shape, affine = grid
    if (transform is None and volume.data.shape == tuple(shape)
            and np.allclose(volume.affine, affine)):
        return volume.data
    return resample(volume.data, volume.affine, shape, affine, transform, nearest)
