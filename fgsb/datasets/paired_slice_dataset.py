"""Paired 2-D slices of co-registered source/target MR volumes.

docs/data.md and docs/method.md §9: a prepared root holds one
folder a subject (``<modality>.nii.gz``, optional ``brain_mask.nii.gz`` and
``lesion_mask.nii.gz``) and ``splits.json``. The dataset picks subjects of a
split (deterministic by seed), reads each volume once, keeps the slices with
enough brain, normalises each volume to [-1, 1] with robust percentiles,
pads with the minimum to a centred square, resizes, and serves one slice
pair a sample. A sample's meta says which subject and slice it is (and
whether it was flipped); ``slice_layout(subject)`` says where a subject's
slices come from, to put synthesised slices back into its volume.
"""
import inspect
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from fgsb.registry import DATASETS, PRIORS

from .batch_keys import BRAIN_MASK, LESION_MASK, META, PRIOR, SOURCE, TARGET
from .lesion_labels import lesion_label_files
from .prepared_layout import MASKS, select_subjects, subject_modalities, volume_path
from .slice_context import check_context_slices, neighbour_plan, slice_stacks
from .slice_pipeline import SliceSettings
from .slice_preprocessing import LEFT_RIGHT_AXIS
from .volume_cache import read_subject_slices


@DATASETS.register_module()
class PairedSliceDataset(Dataset):
    """Slices of a prepared root, one ``source``/``target`` pair a sample.

    Args:
        data_root: prepared root (see the module docstring).
        source, target: modality keys, e.g. 't1' and 't2' (``x0`` and ``x1``).
        split: 'train', 'test', 'val' or any other key of ``splits.json``.
        num_subjects: how many subjects of the split to use (None: all);
            chosen by ``choose_subjects(split, num_subjects, seed)``.
        subjects: explicit subject ids; overrides ``split`` and ``num_subjects``.
        sites: keep only the split's subjects whose ``.prepared.json`` names
            one of these sites (phantom version 2), before ``num_subjects``
            are chosen among them.
        seed: seed of the subject choice and of the validation carve-out.
        val_subjects: carve this many subjects out of the train split as
            split 'val' (deterministic by seed); 'train' then excludes them.
        axis: slicing axis of the stored volume (2: axial for RAS volumes).
        min_brain_fraction: drop slices whose brain mask covers less than this
            fraction of the slice (background-dominated slices, paper 4).
        percentiles: robust range of each volume inside the brain mask that
            is mapped onto [-1, 1].
        size: side of the square network input (None: the padded side).
        flip_prob: probability of a left-right flip of the whole sample
            (the only augmentation, docs/method.md §8; 0.5 for training).
        prior: the prior map ``M`` (docs/method.md §6): a ``PRIORS`` config
            dict or a callable ``prior(target=, brain_mask=, lesion_mask=)``;
            one whose ``reads_lesion_labels`` is true gets label values as
            ``lesion_mask`` (``fgsb.datasets.lesion_labels``), others the
            binary mask.
        missing_root_hint: text added to the error when ``data_root`` is
            missing, e.g. the command that prepares it.
        cache_dir: keep the preprocessed slices there as ``.npy`` memory maps
            (None: in memory only).
        mask_threshold: brain-mask estimate for subjects without a
            ``brain_mask.nii.gz`` (see ``estimate_head_mask``).
        context_slices: 2.5D input (docs/volumes.md): the source of a sample
            is its slice and ``n`` neighbour slices of the volume on each
            side, ``2n + 1`` channels, centre first
            (``fgsb.datasets.slice_context``); 0 (default): the slice alone.
        target_context_slices: multi-slice output (docs/volumes.md): the
            target of a sample is its slice and ``m`` neighbour target slices
            on each side, ``2m + 1`` channels, centre first, built like the
            source stack; 0 (default): the slice alone.
    """

    def __init__(self, data_root, source='t1', target='t2', split='train',
                 num_subjects=None, subjects=None, seed=0, val_subjects=0, axis=2,
                 min_brain_fraction=0.1, percentiles=(0.5, 99.5), size=256,
                 flip_prob=0.0, prior=None, missing_root_hint=None, cache_dir=None,
                 mask_threshold=0.05, sites=None, context_slices=0,
                 target_context_slices=0):
        self._check_arguments(axis, min_brain_fraction, percentiles, size, flip_prob,
                              val_subjects, num_subjects)
        self.context_slices = check_context_slices(context_slices)
        self.target_context_slices = check_context_slices(target_context_slices,
                                                          'target_context_slices')
        self.data_root = Path(data_root)
        if not self.data_root.is_dir():
            message = f'data root {self.data_root} does not exist'
            if missing_root_hint:
                message += f'; {missing_root_hint}'
            raise FileNotFoundError(message)
        self.source, self.target, self.split = source, target, split
        self.seed, self.axis, self.flip_prob = seed, axis, flip_prob
        self.subjects = select_subjects(self.data_root, split, num_subjects, subjects, seed,
                                              val_subjects, sites)
        self.prior = self._build_prior(prior)
        # label values only for a prior that selects labels (SegmentationPrior(labels=))
        self._reads_labels = bool(getattr(self.prior, 'reads_lesion_labels', False))
        settings = SliceSettings(axis=axis, size=size, min_brain_fraction=min_brain_fraction,
                                 percentiles=tuple(percentiles),
                                 mask_threshold=mask_threshold,
                                 context_slices=self.context_slices,
                                 target_context_slices=self.target_context_slices)
        self._volumes = [
            read_subject_slices(subject, self._subject_files(subject), settings, cache_dir,
                                lesion_labels=self._reads_labels)
            for subject in self.subjects]
        self._layouts = [volume.layout for volume in self._volumes]
        self._neighbour_positions = [self._neighbour_positions_of(layout, self.context_slices)
                                     for layout in self._layouts]
        self._target_positions = [self._neighbour_positions_of(layout, self.target_context_slices)
                                  for layout in self._layouts]
        self._priors = [self._prior_maps(volume, layout)
                        for volume, layout in zip(self._volumes, self._layouts)]
        self._index = [(v, k) for v, layout in enumerate(self._layouts)
                       for k in range(len(layout.indices))]
        sides = {volume.source.shape[-1] for volume in self._volumes}
        if len(sides) > 1:
            raise ValueError(f'subjects have different padded sides {sorted(sides)}; set '
                             f'size so that every slice has the same shape')
        self.size = int(sides.pop())

    @classmethod
    def settings_from_config(cls, dataset_cfg):
        """``(source, target, SliceSettings)`` of a config of this data set,
        with the constructor's defaults for the keys it leaves out: what
        synthesis needs to prepare a volume exactly as training did."""
        parameters = inspect.signature(cls.__init__).parameters
        values = {name: p.default for name, p in parameters.items()
                  if p.default is not inspect.Parameter.empty}
        values.update(dataset_cfg)
        settings = SliceSettings(axis=int(values['axis']), size=values['size'],
                                 min_brain_fraction=float(values['min_brain_fraction']),
                                 percentiles=tuple(float(p) for p in values['percentiles']),
                                 mask_threshold=float(values['mask_threshold']),
                                 context_slices=check_context_slices(values['context_slices']),
                                 target_context_slices=check_context_slices(
                                     values['target_context_slices'], 'target_context_slices'))
        return str(values['source']), str(values['target']), settings

    # ------------------------------------------------------------ construction
    @staticmethod
    def _check_arguments(axis, min_brain_fraction, percentiles, size, flip_prob,
                         val_subjects, num_subjects):
        if axis not in (0, 1, 2):
            raise ValueError(f'axis must be 0, 1 or 2, got {axis!r}')
        if not 0.0 <= min_brain_fraction <= 1.0:
            raise ValueError(f'min_brain_fraction must be in [0, 1], got {min_brain_fraction}')
        if len(percentiles) != 2 or not 0.0 <= percentiles[0] < percentiles[1] <= 100.0:
            raise ValueError(f'percentiles must be (low, high) with 0 <= low < high <= 100, '
                             f'got {percentiles!r}')
        if size is not None and (not isinstance(size, int) or size < 1):
            raise ValueError(f'size must be a positive int or None, got {size!r}')
        if not 0.0 <= flip_prob <= 1.0:
            raise ValueError(f'flip_prob must be in [0, 1], got {flip_prob}')
        if flip_prob > 0 and axis == 0:
            raise ValueError('flip_prob > 0 needs axial or coronal slices (axis 2 or 1): a '
                             'sagittal slice has no left-right axis to mirror')
        if val_subjects < 0:
            raise ValueError(f'val_subjects must be >= 0, got {val_subjects}')
        if num_subjects is not None and num_subjects < 1:
            raise ValueError(f'num_subjects must be >= 1 or None, got {num_subjects}')

    @staticmethod
    def _neighbour_positions_of(layout, n):
        """Where each slice's ``n`` neighbours a side lie among the cached
        neighbour slices (``neighbour_plan``); None for ``n = 0``."""
        return neighbour_plan(layout, n)[1] if n else None

    def _subject_files(self, subject):
        folder = self.data_root / subject
        files = {}
        for role, key in ((SOURCE, self.source), (TARGET, self.target)):
            path = volume_path(folder, key)
            if not path.is_file():
                available = ', '.join(subject_modalities(folder)) or 'none'
                raise FileNotFoundError(
                    f'{path} not found: subject {subject!r} has no {role} modality '
                    f'{key!r}; its modalities are: {available}')
            files[role] = path
        for name in MASKS:
            path = volume_path(folder, name)
            files[name] = path if path.is_file() else None
        if self._reads_labels:
            files.update(lesion_label_files(folder))
        return files

    @staticmethod
    def _build_prior(prior):
        if prior is None or callable(prior):
            return prior
        if isinstance(prior, dict):
            return PRIORS.build(prior)
        raise TypeError(f'prior must be a PRIORS config dict or a callable, got {type(prior)}')

    def _prior_maps(self, volume, layout):
        """Prior maps ``M`` of every kept slice, computed once (before any flip)."""
        if self.prior is None:
            return None
        maps = np.empty(volume.target.shape, dtype=np.float32)
        for k in range(len(maps)):
            if self._reads_labels:
                lesion = None if volume.lesion_labels is None else np.array(
                    volume.lesion_labels[k])
            else:
                lesion = None if volume.lesion_mask is None else volume.lesion_mask[k] > 0
            prior_map = self.prior(target=np.array(volume.target[k]),
                                   brain_mask=volume.brain_mask[k] > 0, lesion_mask=lesion)
            if isinstance(prior_map, torch.Tensor):
                prior_map = prior_map.detach().cpu().numpy()
            prior_map = np.asarray(prior_map, dtype=np.float32)
            if prior_map.shape != maps.shape[1:] or not np.isfinite(prior_map).all():
                raise ValueError(
                    f'prior {self.prior!r} returned a map of shape {prior_map.shape} '
                    f'(finite: {bool(np.isfinite(prior_map).all())}) for subject '
                    f'{volume.subject!r} slice {layout.indices[k]}; '
                    f'expected a finite {maps.shape[1:]} map')
            maps[k] = prior_map
        return maps

    # ------------------------------------------------------------ access
    @property
    def metainfo(self):
        return dict(source=self.source, target=self.target, split=self.split,
                    subjects=list(self.subjects), num_slices=len(self), size=self.size,
                    axis=self.axis, data_root=str(self.data_root))

    def __len__(self):
        return len(self._index)

    def _position(self, subject):
        if subject not in self.subjects:
            raise KeyError(f'subject {subject!r} is not in this dataset; it has '
                           f'{", ".join(self.subjects)}')
        return self.subjects.index(subject)

    def slices_marked_by(self, key=LESION_MASK):
        """Dataset indices of the slices with any voxel set in ``key``:
        ``'lesion_mask'`` (lesion-bearing slices) or ``'prior'`` (the map ``M``)."""
        if key not in (LESION_MASK, PRIOR):
            raise ValueError(f"key must be {LESION_MASK!r} or {PRIOR!r}, got {key!r}")
        if key == PRIOR and self.prior is None:
            raise ValueError(f"key={PRIOR!r}: this dataset has no prior map (prior=None)")
        arrays = [volume.lesion_mask for volume in self._volumes] if key == LESION_MASK \
            else self._priors
        return [idx for idx, (v, k) in enumerate(self._index)
                if arrays[v] is not None and bool(np.any(arrays[v][k] > 0))]

    def subject_slices(self, subject):
        """Dataset indices of ``subject``'s slices, in slice order."""
        v = self._position(subject)
        start = sum(len(layout.indices) for layout in self._layouts[:v])
        return list(range(start, start + len(self._layouts[v].indices)))

    def slice_layout(self, subject):
        """The ``SliceLayout`` of ``subject``'s slices: which slices of its
        volume they are, and how to restore and assemble network outputs."""
        return self._layouts[self._position(subject)]

    def __getitem__(self, idx):
        v, k = self._index[idx]
        volume = self._volumes[v]
        source = volume.source[k]
        if self.context_slices:  # (2n+1, S, S), centre first
            source = slice_stacks(source[None], volume.source_neighbours,
                                  self._neighbour_positions[v][k][None])[0]
        target = volume.target[k]
        if self.target_context_slices:  # (2m+1, S, S), centre first
            target = slice_stacks(target[None], volume.target_neighbours,
                                  self._target_positions[v][k][None])[0]
        arrays = {SOURCE: source, TARGET: target, BRAIN_MASK: volume.brain_mask[k]}
        arrays[LESION_MASK] = (np.zeros_like(arrays[BRAIN_MASK])
                               if volume.lesion_mask is None else volume.lesion_mask[k])
        if self._priors[v] is not None:
            arrays[PRIOR] = self._priors[v][k]
        flipped = self.flip_prob > 0 and bool(torch.rand(()) < self.flip_prob)
        sample = {}
        for name, array in arrays.items():
            if flipped:  # in-plane: a 2.5D stack has its channels first
                array = np.flip(array, axis=LEFT_RIGHT_AXIS + array.ndim - 2)
            # a copy: the cached arrays may be read-only memory maps
            array = np.array(array, dtype=np.float32)
            sample[name] = torch.from_numpy(array if array.ndim == 3 else array[None])
        sample[META] = dict(subject=volume.subject, slice_index=self._layouts[v].indices[k],
                            flipped=flipped)
        return sample
