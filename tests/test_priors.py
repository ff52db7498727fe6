"""Prior maps of paper 3.3 on hand-made arrays."""
import numpy as np
import pytest
import torch

from fgsb.priors import NoPrior, SegmentationPrior, ThresholdPrior
from fgsb.registry import PRIORS

TARGET = np.array([[0.9, -1.0], [0.6, 0.4]], dtype=np.float32)
BRAIN = np.array([[1, 1], [0, 1]], dtype=np.uint8)


def test_threshold_prior_inside_the_brain():
    prior = ThresholdPrior(theta=0.5)(TARGET, BRAIN)
    assert prior.dtype == np.float32
    np.testing.assert_array_equal(prior, [[1, 0], [0, 0]])  # 0.6 lies outside the brain
    np.testing.assert_array_equal(ThresholdPrior(0.5)(TARGET, None), [[1, 0], [1, 0]])
    np.testing.assert_array_equal(ThresholdPrior(0.3)(TARGET, BRAIN), [[1, 0], [0, 1]])
    np.testing.assert_array_equal(ThresholdPrior(0.9)(TARGET, BRAIN), [[0, 0], [0, 0]])


def test_threshold_prior_accepts_tensors():
    prior = ThresholdPrior(0.5)(torch.from_numpy(TARGET), torch.from_numpy(BRAIN))
    assert isinstance(prior, torch.Tensor) and prior.dtype == torch.float32
    assert prior.tolist() == [[1.0, 0.0], [0.0, 0.0]]


def test_threshold_prior_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match='brain_mask has shape'):
        ThresholdPrior()(TARGET, np.ones((3, 3)))


def test_segmentation_prior_all_labels_and_chosen_labels():
    lesion = np.array([[0, 1], [2, 4]], dtype=np.int16)
    prior = SegmentationPrior()(TARGET, BRAIN, lesion)
    assert prior.dtype == np.float32
    np.testing.assert_array_equal(prior, [[0, 1], [1, 1]])  # not cut by the brain mask
    np.testing.assert_array_equal(SegmentationPrior(labels=[1, 4])(TARGET, BRAIN, lesion),
                                  [[0, 1], [0, 1]])
    as_tensor = SegmentationPrior()(torch.from_numpy(TARGET), None, torch.from_numpy(lesion))
    assert isinstance(as_tensor, torch.Tensor) and as_tensor.tolist() == [[0, 1], [1, 1]]


def test_segmentation_prior_errors():
    with pytest.raises(ValueError, match='lesion/segmentation mask'):
        SegmentationPrior()(TARGET, BRAIN)
    with pytest.raises(ValueError, match='lesion_mask has shape'):
        SegmentationPrior()(TARGET, BRAIN, np.ones((3, 2)))
    with pytest.raises(ValueError, match='labels'):
        SegmentationPrior(labels=[])


def test_no_prior_and_registry():
    assert NoPrior()(TARGET, BRAIN, np.ones((2, 2))) is None
    threshold = PRIORS.build(dict(type='ThresholdPrior', theta=0.5))
    np.testing.assert_array_equal(threshold(TARGET, BRAIN), [[1, 0], [0, 0]])
    assert isinstance(PRIORS.build(dict(type='SegmentationPrior')), SegmentationPrior)
    assert PRIORS.build(dict(type='NoPrior'))(TARGET, BRAIN) is None
