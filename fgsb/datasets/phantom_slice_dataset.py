"""The embedded default data: phantom slices, generated on first use."""
from fgsb.registry import DATASETS
from .paired_slice_dataset import PairedSliceDataset
from .phantom import ensure_phantom


@DATASETS.register_module()
class PhantomSliceDataset(PairedSliceDataset):
    """``PairedSliceDataset`` over a phantom root that is generated (once,
    under a file lock) when it does not exist yet.

    Args:
        phantom: keyword arguments of ``ensure_phantom`` (``num_subjects``,
            ``seed``, ``num_test``, ``version``, ``sites``, ``head``, ...).
            Without ``version``, a phantom already at ``data_root`` keeps its
            version (a version-1 root keeps loading as version 1) and a new
            one is the latest.
        data_root, **kwargs: as for ``PairedSliceDataset``.
    """

    def __init__(self, data_root, phantom=None, **kwargs):
        ensure_phantom(data_root, **(phantom or {}))
        super().__init__(data_root, **kwargs)
