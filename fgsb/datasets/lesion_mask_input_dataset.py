"""A diagnosis, not a synthesis setting: the true lesion mask as a second
source channel (docs/lesions.md, "Told where the lesions are").

A model trained on this data set is told, at training and at test time,
where the lesions are. If it then paints them, the generator, the losses,
the lesion sizes and the training length are not what keeps a T1w-only
model from keeping lesions: the T1w is. A user's synthesis has no lesion
mask, so ``tools/synthesize.py`` cannot run such a model.
"""
import torch
from torch.utils.data import Dataset

from fgsb.registry import DATASETS
from .batch_keys import LESION_MASK, SOURCE


@DATASETS.register_module()
class LesionMaskInputDataset(Dataset):
    """Wrap a paired data set; each sample's ``SOURCE`` gets its
    ``LESION_MASK`` appended as a last channel (``C + 1`` channels).
    Everything else, and every attribute of the wrapped set, is unchanged."""

    def __init__(self, dataset):
        self.dataset = DATASETS.build(dataset) if isinstance(dataset, dict) else dataset

    def __getattr__(self, name):  # slice_layout, subject_slices, metainfo, ...
        if name == 'dataset':  # not set yet (unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.dataset, name)

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, index):
        sample = dict(self.dataset[index])
        sample[SOURCE] = torch.cat([sample[SOURCE], sample[LESION_MASK]], dim=0)
        return sample
