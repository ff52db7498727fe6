"""Lesion-wise detection: which true lesions a segmentation finds, by size.

Voxel Dice weighs a lesion by its volume, so one large lesion hides many
missed small ones. Here each lesion counts once. Lesions are the 3-D
connected components of a mask with **26-connectivity** (voxels touching by
a face, an edge or a corner are one lesion; ``scipy.ndimage.label`` with a
full 3x3x3 structure), on the grid the metric scores (the stacked network
slices of a test subject). Definitions:

- a true lesion is **found** when at least one voxel of the segmentation
  lies in it (overlap, any amount);
- **detection rate**: found true lesions / true lesions;
- **size bins** by a true lesion's voxel count: ``small`` < 10, ``medium``
  10-100 (both ends included), ``large`` > 100;
- a **false-positive lesion** is a connected component of the segmentation
  that touches no true lesion voxel.
"""
import numpy as np
from scipy import ndimage

CONNECTIVITY = 26
STRUCTURE = ndimage.generate_binary_structure(3, 3)  # the 26 neighbours
SIZE_BINS = (('small', 1, 9), ('medium', 10, 100), ('large', 101, None))


def size_bin(voxels):
    """The name of the size bin of a lesion of ``voxels`` voxels."""
    for name, low, high in SIZE_BINS:
        if voxels >= low and (high is None or voxels <= high):
            return name
    raise ValueError(f'a lesion has at least 1 voxel, got {voxels}')


def lesion_components(mask):
    """``(labels, sizes)``: the 26-connected components of a 3-D boolean mask
    (labels 1..n, 0 background) and each one's voxel count (``sizes[i]`` of label ``i + 1``)."""
    mask = np.asarray(mask, bool)
    if mask.ndim != 3:
        raise ValueError(f'lesion_components expects a 3-D mask, got shape {mask.shape}')
    labels, count = ndimage.label(mask, structure=STRUCTURE)
    sizes = np.bincount(labels.ravel(), minlength=count + 1)[1:]
    return labels, sizes


def detection_counts(segmentation, truth):
    """Lesion-wise counts of ``segmentation`` against the ``truth`` mask (both 3-D boolean).

    Returns ``{'lesions', 'found', 'lesions_<bin>', 'found_<bin>' for each
    size bin, 'false_positives', 'segmented'}`` (``segmented``: components
    of the segmentation).
    """
    segmentation, truth = np.asarray(segmentation, bool), np.asarray(truth, bool)
    if segmentation.shape != truth.shape:
        raise ValueError(f'detection_counts: masks of different shapes {segmentation.shape} '
                         f'and {truth.shape}')
    truth_labels, sizes = lesion_components(truth)
    overlap = segmentation & truth
    found = np.zeros(len(sizes), bool)
    found[np.unique(truth_labels[overlap]) - 1] = True
    seg_labels, seg_sizes = lesion_components(segmentation)
    touching = np.unique(seg_labels[overlap])
    counts = {'lesions': len(sizes), 'found': int(found.sum()),
              'false_positives': int(len(seg_sizes) - len(touching)),
              'segmented': int(len(seg_sizes))}
    bins = np.array([size_bin(int(s)) for s in sizes], dtype=object)
    for name, _, _ in SIZE_BINS:
        in_bin = bins == name
        counts[f'lesions_{name}'] = int(in_bin.sum())
        counts[f'found_{name}'] = int((found & in_bin).sum())
    return counts


def pooled_rates(counts):
    """Detection rates pooled over subjects: ``{'': found / lesions, '_<bin>': ...}``
    from a list of ``detection_counts``; None where there is no lesion to find."""
    rates = {}
    for suffix in [''] + [f'_{name}' for name, _, _ in SIZE_BINS]:
        lesions = sum(c[f'lesions{suffix}'] for c in counts)
        found = sum(c[f'found{suffix}'] for c in counts)
        rates[suffix] = found / lesions if lesions else None
    return rates
