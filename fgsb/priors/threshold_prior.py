"""Intensity-threshold prior ``M = 1[x1 > theta]`` (paper 3.3, its FLAIR/T2 default)."""
from fgsb.registry import PRIORS
from .binary_map import as_numpy, binary_map_like, check_mask_shape


@PRIORS.register_module()
class ThresholdPrior:
    """Bright regions of the target inside the brain: ``M = 1[x1 > theta] * brain``.

    Lesions such as white-matter hyperintensities are the brightest tissue in
    FLAIR and T2w, so a threshold on the target finds them without a
    segmentation.

    Args:
        theta: threshold in the normalised intensity units of the target
            ([-1, 1]); 0.5 keeps the top quarter of the range.

    Call ``prior(target, brain_mask, lesion_mask=None)`` with arrays of one
    shape; ``brain_mask`` (non-zero = brain) may be ``None`` to threshold the
    whole slice; ``lesion_mask`` is ignored. Returns a float32 ``{0, 1}`` map
    of the same shape, numpy for numpy input, a tensor for tensor input.
    """

    def __init__(self, theta: float = 0.5):
        self.theta = float(theta)

    def __call__(self, target, brain_mask, lesion_mask=None):
        target_np = as_numpy(target, 'target')
        brain_np = as_numpy(brain_mask, 'brain_mask')
        check_mask_shape(target_np, brain_np, 'target', 'brain_mask')
        mask = target_np > self.theta
        if brain_np is not None:
            mask &= brain_np != 0
        return binary_map_like(mask, target)
