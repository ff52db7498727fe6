"""No prior (the IXI experiments): plain losses, uniform PatchNCE."""
from fgsb.registry import PRIORS


@PRIORS.register_module()
class NoPrior:
    """Returns ``None``: the dataset then adds no ``'prior'`` key to the sample,
    so the algorithm skips ``L_ctx`` and draws PatchNCE patches uniformly."""

    def __call__(self, target, brain_mask, lesion_mask=None):
        return None
