"""LesionMaskInputDataset appends the sample's own lesion mask to its source."""
import pickle

import torch

from fgsb.datasets.batch_keys import LESION_MASK, META, SOURCE, TARGET
from fgsb.datasets.lesion_mask_input_dataset import LesionMaskInputDataset


class Slices:
    """Two samples: a 1-channel source, a lesion in the second only."""

    def __init__(self):
        lesion = torch.zeros(1, 4, 4)
        lesion[0, 1, 2] = 1.0
        self.samples = [
            {SOURCE: torch.full((1, 4, 4), 0.5), TARGET: torch.ones(1, 4, 4),
             LESION_MASK: torch.zeros(1, 4, 4), META: dict(subject='a', slice_index=0)},
            {SOURCE: torch.full((1, 4, 4), 0.25), TARGET: torch.ones(1, 4, 4),
             LESION_MASK: lesion, META: dict(subject='a', slice_index=1)}]

    def __len__(self):
        return 2

    def __getitem__(self, index):
        return self.samples[index]

    def subject_slices(self, subject):
        return [0, 1]


def test_source_gains_the_lesion_mask_as_its_last_channel_and_nothing_else_changes():
    inner = Slices()
    wrapped = LesionMaskInputDataset(inner)
    assert len(wrapped) == 2
    sample = wrapped[1]
    assert sample[SOURCE].shape == (2, 4, 4)
    assert torch.equal(sample[SOURCE][0], torch.full((4, 4), 0.25))
    assert torch.equal(sample[SOURCE][1], inner.samples[1][LESION_MASK][0])
    assert sample[SOURCE][1].sum() == 1 and sample[SOURCE][1, 1, 2] == 1
    assert torch.equal(sample[TARGET], inner.samples[1][TARGET])
    assert sample[META] == inner.samples[1][META]
    assert inner.samples[1][SOURCE].shape == (1, 4, 4)  # the wrapped sample is untouched
    assert wrapped.subject_slices('a') == [0, 1]  # attributes pass through


def test_it_pickles_for_data_loader_workers():
    wrapped = pickle.loads(pickle.dumps(LesionMaskInputDataset(Slices())))
    assert wrapped[0][SOURCE].shape == (2, 4, 4)
