"""A second, independent sample per item, for the MI estimator's negatives."""
import torch
from torch.utils.data import Dataset

from fgsb.registry import DATASETS

from .batch_keys import SOURCE, SOURCE_NEG, TARGET, TARGET_NEG


@DATASETS.register_module()
class NegativePairDataset(Dataset):
    """Wrap a paired data set; each item also carries ``SOURCE_NEG`` and
    ``TARGET_NEG`` from another slice drawn at random.

    UNSB and FGSB estimate mutual information against a chain started from a
    different image (UNSB loads a second batch). With batch size 1, the
    paper's setting, the batch itself holds no other image, so the data set
    provides one.
    """

    def __init__(self, dataset):
        self.dataset = DATASETS.build(dataset) if isinstance(dataset, dict) else dataset
        if len(self.dataset) < 2:
            raise ValueError('NegativePairDataset needs at least 2 slices, '
                             f'the wrapped data set has {len(self.dataset)}')

    @property
    def metainfo(self):
        return getattr(self.dataset, 'metainfo', {})

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, index):
        sample = dict(self.dataset[index])
        # Uniform over the other indices; torch's RNG is seeded per worker.
        other = int(torch.randint(len(self) - 1, (1,)))
        other = other + 1 if other >= index else other
        negative = self.dataset[other]
        sample[SOURCE_NEG] = negative[SOURCE]
        sample[TARGET_NEG] = negative[TARGET]
        return sample
