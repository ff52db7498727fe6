"""Batching of slice samples."""
import torch

from fgsb.registry import FUNCTIONS

from .batch_keys import META


@FUNCTIONS.register_module()
def paired_collate(samples):
    """Stack the image tensors of a list of samples; keep ``meta`` as a list.

    MMEngine's ``pseudo_collate`` would transpose each meta dict into lists
    of fields; a list of per-slice dicts is what evaluation and synthesis
    need to put slices back into their volumes.
    """
    if not samples:
        raise ValueError('paired_collate got an empty batch')
    keys = [key for key in samples[0] if key != META]
    for sample in samples[1:]:
        if sorted(k for k in sample if k != META) != sorted(keys):
            raise KeyError('samples of one batch carry different keys: '
                           f'{sorted(keys)} vs {sorted(sample)}')
    batch = {key: torch.stack([sample[key] for sample in samples]) for key in keys}
    batch[META] = [sample.get(META, {}) for sample in samples]
    return batch
