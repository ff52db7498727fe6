"""Prior maps ``M`` of clinically critical regions (PRIORS registry, paper 3.3).

A prior is called as ``prior(target, brain_mask, lesion_mask=None)`` and
returns a float32 map of the target's shape, ``{0, 1}`` (or in [0, 1] for
the soft :class:`DilatedPrior`), or ``None`` (:class:`NoPrior`), in which
case the dataset adds no ``'prior'`` key.
"""
from .dilated_prior import DilatedPrior
from .no_prior import NoPrior
from .segmentation_prior import SegmentationPrior
from .threshold_prior import ThresholdPrior

__all__ = ['ThresholdPrior', 'SegmentationPrior', 'DilatedPrior', 'NoPrior']
