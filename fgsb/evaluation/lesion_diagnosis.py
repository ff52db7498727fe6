"""What the data offer a model that should keep lesions (docs/lesions.md).

From the data alone (no model), for a config's training and validation
subjects: how many lesions there are and how large, at native resolution
and in the network-size slices training sees; the share of training slices
that hold a lesion; how far the lesions stand out from the brain around
them in the source (T1w) and the target (FLAIR) in the training's
normalised units; and what the fixed lesion segmentation scores on the
real FLAIR (the ceiling of the lesion metrics); how much of the lesions'
FLAIR contrast their T1w value explains (``source_lookalikes``); and, where
the training set has a prior, how much of the slice and of the lesions its
map ``M`` covers.
``tools/diagnose_lesions.py`` prints and writes it.
"""
import numpy as np

from fgsb.datasets.batch_keys import BRAIN_MASK, LESION_MASK, PRIOR, SOURCE, TARGET
from fgsb.datasets.nifti_io import load_volume
from fgsb.datasets.paired_slice_dataset import PairedSliceDataset
from fgsb.datasets.prepared_layout import volume_path
from fgsb.datasets.slice_preprocessing import normalise, robust_range
from fgsb.engine.run_config import innermost_dataset, load_config
from fgsb.registry import DATASETS

from .lesion_detection import SIZE_BINS, detection_counts, lesion_components, size_bin
from .lesion_metric import dice_score, lesion_contrast, recall_score
from .lesion_segmentation import DEFAULT_RULE, segment_hyperintensities
from .source_lookalikes import lookalike_measures

SPLITS = (('train', 'train_dataloader'), ('val', 'val_dataloader'))


def size_breakdown(sizes):
    """``{'small': n, 'medium': n, 'large': n}`` lesion counts of voxel ``sizes``."""
    bins = [size_bin(int(s)) for s in sizes]
    return {name: bins.count(name) for name, _, _ in SIZE_BINS}


def lesion_census(mask):
    """Count, total voxels, per-size counts and the largest lesion of a 3-D mask."""
    _, sizes = lesion_components(mask)
    return dict(lesions=int(len(sizes)), voxels=int(sizes.sum()),
                largest=int(sizes.max()) if len(sizes) else 0, sizes=size_breakdown(sizes))


def native_measures(folder, source, target, percentiles, axis=2):
    """Census and T1w/FLAIR contrast of one subject's volumes at native resolution."""
    lesion_path = volume_path(folder, LESION_MASK)
    if not lesion_path.is_file():
        return None
    image, lesion = load_volume(lesion_path, allow_empty=True)
    lesion = lesion > 0.5
    _, brain = load_volume(volume_path(folder, BRAIN_MASK))
    brain = brain > 0.5
    census = lesion_census(lesion)
    voxel_mm3 = float(np.prod(np.asarray(image.header.get_zooms()[:3], dtype=float)))
    census['volume_ml'] = census['voxels'] * voxel_mm3 / 1000
    for role, key in ((SOURCE, source), (TARGET, target)):
        # slices along the training axis first: the ring of lesion_contrast is in-plane
        _, volume = load_volume(volume_path(folder, key))
        scaled = normalise(volume, *robust_range(volume, brain, percentiles))
        census[f'contrast_{role}'] = lesion_contrast(*(np.moveaxis(v, axis, 0)
                                                       for v in (scaled, brain, lesion)))
    return census


def network_stacks(dataset, subject):
    """``{key: (slices, H, W)}`` of a subject's network-size slices (no flip)."""
    samples = [dataset[i] for i in dataset.subject_slices(subject)]
    keys = (SOURCE, TARGET, BRAIN_MASK, LESION_MASK) + ((PRIOR,) if PRIOR in samples[0] else ())
    return {key: np.stack([s[key][0].numpy() for s in samples]) for key in keys}


def network_measures(stacks, rule=DEFAULT_RULE):
    """Census, slice share, contrast and the scores of the segmentation ``rule``
    (``lesion_segmentation.RULES``) at network size."""
    lesion, brain = stacks[LESION_MASK] > 0, stacks[BRAIN_MASK] > 0
    census = lesion_census(lesion)
    census['slices'] = int(len(lesion))
    census['slices_with_lesion'] = int(lesion.reshape(len(lesion), -1).any(axis=1).sum())
    for role in (SOURCE, TARGET):
        census[f'contrast_{role}'] = lesion_contrast(stacks[role], brain, lesion)
    found = segment_hyperintensities(stacks[TARGET], brain, rule)
    counts = detection_counts(found, lesion)
    census['segmentation_real'] = dict(
        dice=dice_score(found, lesion) if lesion.any() else None,
        recall=recall_score(found, lesion), found=counts['found'],
        false_positives=counts['false_positives'],
        found_sizes={name: counts[f'found_{name}'] for name, _, _ in SIZE_BINS})
    census['lookalikes'] = lookalike_measures(stacks[SOURCE], stacks[TARGET], brain, lesion)
    if PRIOR in stacks:
        census['prior'] = prior_measures(stacks[PRIOR], lesion)
    return census


def prior_measures(prior, lesion):
    """How the prior map covers the slices and the lesions: the mean share of a
    slice with ``M > 0``, and of the lesion voxels (recall) and of the map's
    voxels (precision) where map and lesions meet."""
    marked = prior > 0
    overlap = np.logical_and(marked, lesion).sum()
    with_lesion = lesion.reshape(len(lesion), -1).any(axis=1)
    share = marked.reshape(len(marked), -1).mean(axis=1)
    return dict(slice_share=float(share.mean()),
                slice_share_with_lesion=float(share[with_lesion].mean())
                if with_lesion.any() else None,
                lesion_recall=float(overlap / lesion.sum()) if lesion.any() else None,
                precision=float(overlap / marked.sum()) if marked.any() else None)


def split_dataset_config(cfg, loader):
    """The innermost data set of ``loader``, unflipped (the measures read, not train)."""
    dataset_cfg = innermost_dataset(cfg[loader]['dataset']).copy()
    dataset_cfg['flip_prob'] = 0.0
    return dataset_cfg


def diagnose_config(config, cfg_options=None, segmentation=DEFAULT_RULE):
    """The measures of every training and validation subject of ``config``, and
    each split's totals (``segmentation``: the rule scored on the real FLAIR):
    a JSON-able dict."""
    cfg = load_config(config, cfg_options)
    report = dict(config=str(config), segmentation=segmentation, splits={})
    for split, loader in SPLITS:
        if cfg.get(loader) is None:
            continue
        dataset_cfg = split_dataset_config(cfg, loader)
        dataset = DATASETS.build(dataset_cfg)
        # the class's own defaults (a subclass such as PhantomSliceDataset takes **kwargs)
        percentiles = PairedSliceDataset.settings_from_config(dataset_cfg)[2].percentiles
        subjects = [dict(subject=subject,
                         native=native_measures(dataset.data_root / subject, dataset.source,
                                                dataset.target, percentiles, dataset.axis),
                         network=network_measures(network_stacks(dataset, subject),
                                                  segmentation))
                    for subject in dataset.subjects]
        report['splits'][split] = dict(source=dataset.source, target=dataset.target,
                                       size=dataset.size, subjects=subjects,
                                       totals=split_totals(subjects))
    return report


def split_totals(subjects):
    """Lesions, voxels, slices and the share of slices with a lesion over a split."""
    network = [s['network'] for s in subjects]
    slices = sum(n['slices'] for n in network)
    with_lesion = sum(n['slices_with_lesion'] for n in network)
    native = [s['native'] for s in subjects if s['native'] is not None]
    return dict(native_lesions=sum(n['lesions'] for n in native),
                native_voxels=sum(n['voxels'] for n in native),
                network_lesions=sum(n['lesions'] for n in network),
                network_voxels=sum(n['voxels'] for n in network),
                network_sizes={name: sum(n['sizes'][name] for n in network)
                               for name, _, _ in SIZE_BINS},
                slices=slices, slices_with_lesion=with_lesion,
                lesion_slice_share=with_lesion / slices if slices else None)


def _number(value, digits=3):
    return '-' if value is None else f'{value:.{digits}f}'


def format_report(report):
    """A plain-text table, one row a subject and a totals line a split."""
    bins = '/'.join(name for name, _, _ in SIZE_BINS)
    header = (f'{"split":<6}{"subject":<14}{"native les.":>12}{"vox":>7}{"ml":>7}'
              f'{"128px les.":>11}{"vox":>6}  {bins:<18}{"slices":>11}'
              f'{"T1w c.":>8}{"FLAIR c.":>9}{"seg Dice":>9}{"found":>7}{"FP":>4}')
    lines = [header, '-' * len(header)]
    for split, block in report['splits'].items():
        for row in block['subjects']:
            native, network = row['native'] or {}, row['network']
            seg = network['segmentation_real']
            sizes = '/'.join(str(network['sizes'][name]) for name, _, _ in SIZE_BINS)
            lines.append(
                f'{split:<6}{row["subject"]:<14}{native.get("lesions", "-"):>12}'
                f'{native.get("voxels", "-"):>7}{_number(native.get("volume_ml"), 2):>7}'
                f'{network["lesions"]:>11}{network["voxels"]:>6}  {sizes:<18}'
                f'{network["slices_with_lesion"]:>5}/{network["slices"]:<5}'
                f'{_number(network["contrast_source"]):>8}'
                f'{_number(network["contrast_target"]):>9}{_number(seg["dice"]):>9}'
                f'{seg["found"]:>4}/{network["lesions"]:<2}{seg["false_positives"]:>4}')
        totals = block['totals']
        lines.append(f'{split:<6}{"total":<14}{totals["native_lesions"]:>12}'
                     f'{totals["native_voxels"]:>7}{"":>7}{totals["network_lesions"]:>11}'
                     f'{totals["network_voxels"]:>6}  '
                     f'{"/".join(str(v) for v in totals["network_sizes"].values()):<18}'
                     f'{totals["slices_with_lesion"]:>5}/{totals["slices"]:<5}'
                     f'  (share {_number(totals["lesion_slice_share"])})')
    lines += lookalike_lines(report)
    lines += prior_lines(report)
    lines.append('contrast c.: mean in the lesions minus the 2-px brain ring around them, '
                 'in the normalised [-1, 1] units of the 128-px slices; seg: the fixed '
                 'segmentation on the real FLAIR; sizes ' + bins + ': < 10, 10-100, > 100 voxels')
    return '\n'.join(lines)


def _block_lines(report, key, title, columns):
    """One line a subject whose network measures hold ``key``: ``columns``
    are ``(header, field, digits)`` of ``measures[key]``."""
    rows = [(split, row) for split, block in report['splits'].items()
            for row in block['subjects'] if row['network'].get(key)]
    if not rows:
        return []
    widths = [len(header) + 2 for header, _, _ in columns]
    lines = [f'{title:<20}' + ''.join(f'{header:>{w}}'
                                      for (header, _, _), w in zip(columns, widths))]
    for split, row in rows:
        found = row['network'][key]
        lines.append(f'{split:<6}{row["subject"]:<14}' + ''.join(
            f'{_number(found[field], digits):>{w}}'
            for (_, field, digits), w in zip(columns, widths)))
    return lines


def prior_lines(report):
    """The prior map's coverage, one line a subject whose data set has a prior."""
    return _block_lines(report, 'prior', 'prior M', (
        ('slice share', 'slice_share', 4), ('on lesion slices', 'slice_share_with_lesion', 4),
        ('lesion recall', 'lesion_recall', 3), ('precision', 'precision', 3)))


def lookalike_lines(report):
    """What the T1w value explains of each lesion-bearing subject's FLAIR contrast."""
    return _block_lines(report, 'lookalikes', 'T1w look-alikes', (
        ('lesion share', 'lesion_share', 3), ('prevalence', 'prevalence', 3),
        ('FLAIR c. real', 'contrast_real', 3),
        ('painted from T1w bin', 'contrast_lookalike', 3)))
