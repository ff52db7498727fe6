"""Prior maps of paper 3.3 on hand-made arrays."""
import numpy as np
import pytest
import torch

from fgsb.priors import DilatedPrior, NoPrior, SegmentationPrior, ThresholdPrior
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


# ------------------------------------------------------------ dilated prior
def test_dilated_prior_soft_and_hard_by_hand():
    lesion = np.zeros((3, 7), np.uint8)
    lesion[1, 1] = 1
    target = np.zeros((3, 7), np.float32)
    wrapped = dict(type='SegmentationPrior')
    soft = PRIORS.build(dict(type='DilatedPrior', prior=wrapped, radius=2, soft=True))
    diagonal = 1 - np.sqrt(2) / 3  # distance sqrt(2): 1 - d / (radius + 1)
    np.testing.assert_allclose(soft(target, None, lesion), [
        [diagonal, 2 / 3, diagonal, 0, 0, 0, 0],   # distance sqrt(5) > 2: outside
        [2 / 3, 1, 2 / 3, 1 / 3, 0, 0, 0],
        [diagonal, 2 / 3, diagonal, 0, 0, 0, 0]], rtol=1e-6)
    hard = DilatedPrior(prior=wrapped, radius=2, soft=False)
    np.testing.assert_array_equal(hard(target, None, lesion), [
        [1, 1, 1, 0, 0, 0, 0], [1, 1, 1, 1, 0, 0, 0], [1, 1, 1, 0, 0, 0, 0]])
    assert soft(target, None, lesion).dtype == np.float32
    assert not soft(target, None, np.zeros_like(lesion)).any()


def test_dilated_prior_keeps_the_input_kind_and_refuses_bad_settings():
    target = torch.tensor([[0.95, -1.0, -1.0]])
    grown = DilatedPrior(prior=ThresholdPrior(0.9), radius=1)(target, None)
    assert isinstance(grown, torch.Tensor) and grown.tolist() == [[1.0, 0.5, 0.0]]
    with pytest.raises(ValueError, match='gave no map'):
        DilatedPrior(prior=dict(type='NoPrior'))(TARGET, BRAIN)
    with pytest.raises(ValueError, match='radius'):
        DilatedPrior(prior=dict(type='NoPrior'), radius=0)
    assert DilatedPrior(prior=dict(type='SegmentationPrior', labels=[2])).reads_lesion_labels
    assert not DilatedPrior(prior=dict(type='ThresholdPrior')).reads_lesion_labels


def test_segmentation_prior_asks_for_label_values_only_when_it_selects_labels():
    assert SegmentationPrior(labels=[1, 4]).reads_lesion_labels
    assert not SegmentationPrior().reads_lesion_labels
