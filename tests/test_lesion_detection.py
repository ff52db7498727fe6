"""Lesion-wise detection (26-connected components, found = overlap) by hand."""
import math

import numpy as np
import pytest
import torch

from fgsb.evaluation.lesion_detection import (detection_counts, lesion_components,
                                              pooled_rates, size_bin)
from fgsb.evaluation.lesion_metric import DETECTION_NAMES, LesionPreservationMetric


def test_components_are_26_connected_and_sized():
    mask = np.zeros((3, 4, 4), bool)
    mask[0, 0, 0] = mask[1, 1, 1] = True  # corner neighbours: one lesion
    mask[2, 3, 3] = True                  # apart: another
    labels, sizes = lesion_components(mask)
    assert sorted(sizes.tolist()) == [1, 2]
    assert labels[0, 0, 0] == labels[1, 1, 1] != labels[2, 3, 3]
    with pytest.raises(ValueError, match='3-D'):
        lesion_components(mask[0])


def test_size_bins_edges():
    assert [size_bin(n) for n in (1, 9, 10, 100, 101)] == \
        ['small', 'small', 'medium', 'medium', 'large']


def test_detection_counts_by_hand():
    truth = np.zeros((6, 20, 20), bool)
    truth[0, 0, 0] = True              # A: 1 voxel, small, missed
    truth[0, 5:8, 5:8] = True          # B: 3 x 3 x 2 = 18, medium, found by one voxel
    truth[1, 5:8, 5:8] = True
    truth[1:6, 12:17, 12:17] = True    # C: 125, large, found
    truth[3, 0, 5] = truth[4, 1, 6] = True  # D: a corner pair, one small lesion, missed
    seg = np.zeros_like(truth)
    seg[1, 6, 6] = True                # inside B
    seg[2:4, 10:14, 10:14] = True      # overlaps C and spills out of it: still a hit
    seg[5, 0:2, 0:2] = True            # touches nothing: false positive
    seg[0, 18, 18] = seg[1, 19, 19] = True  # a corner pair: one more false positive
    counts = detection_counts(seg, truth)
    assert counts == {'lesions': 4, 'found': 2, 'false_positives': 2, 'segmented': 4,
                      'lesions_small': 2, 'found_small': 0, 'lesions_medium': 1,
                      'found_medium': 1, 'lesions_large': 1, 'found_large': 1}
    empty = detection_counts(np.zeros_like(truth), np.zeros_like(truth))
    assert empty['lesions'] == empty['false_positives'] == 0
    assert detection_counts(truth, np.zeros_like(truth))['false_positives'] == 4
    rates = pooled_rates([counts, detection_counts(truth, truth)])
    assert rates == {'': 6 / 8, '_small': 2 / 4, '_medium': 1.0, '_large': 1.0}
    assert pooled_rates([empty])[''] is None
    with pytest.raises(ValueError, match='shapes'):
        detection_counts(seg[0], truth)


def sample(subject, index, pred, target, lesion):
    brain = torch.ones(1, 20, 20)
    return {'meta': {'subject': subject, 'slice_index': index}, 'pred': pred[None],
            'target': target[None], 'source': target[None], 'brain_mask': brain,
            'lesion_mask': lesion[None]}


def test_metric_reports_detection_for_synthetic_and_real_flair():
    # the fixed segmentation finds a bright (1.0) spot on dark (0.0) brain
    # more than 3 px inside the brain; the same rule scores both volumes
    truth = torch.zeros(2, 20, 20)
    truth[:, 5:7, 5:7] = 1       # 8 voxels: small, kept by the synthetic image
    truth[0, 12, 12] = 1         # 1 voxel: small, lost
    truth[:, 10:14, 3:7] = 1     # 32 voxels: medium, lost
    real = truth.clone()
    synthetic = torch.zeros(2, 20, 20)
    synthetic[:, 5:7, 5:7] = 1
    synthetic[0, 14:16, 14:16] = 1  # a false positive
    samples = [sample('sub_a', k, synthetic[k], real[k], truth[k]) for k in range(2)]
    clean = torch.zeros(20, 20)
    ghost = clean.clone()
    ghost[8:10, 8:10] = 1           # lesion-free subject, one false positive
    samples += [sample('sub_b', k, ghost if k else clean, clean, clean) for k in range(2)]
    metric = LesionPreservationMetric(identity_baseline=False, segmentation='phantom_v1')
    metric.process({}, samples)
    metrics = metric.compute_metrics(metric.results)
    assert set(DETECTION_NAMES) <= set(metrics)
    assert metrics['Detection_rate'] == pytest.approx(1 / 3)
    assert metrics['Detection_rate_small'] == pytest.approx(1 / 2)
    assert metrics['Detection_rate_medium'] == 0.0
    assert math.isnan(metrics['Detection_rate_large'])
    assert metrics['Detection_rate_real'] == metrics['Detection_rate_medium_real'] == 1.0
    assert metrics['FP_lesions'] == 1.0 and metrics['FP_lesions_std'] == 0.0
    assert metrics['FP_lesions_real'] == 0.0
    assert (metrics['Lesions'], metrics['Lesions_small'], metrics['Lesions_medium'],
            metrics['Lesions_large']) == (3, 2, 1, 0)
    rows = {row['subject']: row for row in metric.per_subject}
    assert rows['sub_a']['lesions_found'] == 1 and rows['sub_a']['lesions_found_real'] == 3
    assert rows['sub_b']['lesions'] == 0 and rows['sub_b']['FP_lesions'] == 1
    assert rows['sub_b']['Dice'] is None  # voxel scores still skip lesion-free subjects


def test_a_missing_slice_keeps_lesions_apart():
    lesion = torch.zeros(20, 20)
    lesion[9:11, 9:11] = 1
    # slices 0 and 2 only: the same spot in both is two lesions, not one through the gap
    samples = [sample('sub', k, lesion, lesion, lesion) for k in (0, 2)]
    metric = LesionPreservationMetric(identity_baseline=False, segmentation='phantom_v1')
    metric.process({}, samples)
    metrics = metric.compute_metrics(metric.results)
    assert metrics['Lesions'] == 2 and metrics['Detection_rate'] == 1.0
    assert metrics['Dice'] == 1.0
