"""Losses (registered in MODELS): GAN, L1 / prior-weighted L1 (per pixel or per
map area), PatchNCE, SB/MI, SSL, the through-plane L1 of a multi-slice output."""
from .area_normalised_l1_loss import AreaNormalisedPriorL1Loss
from .gan_loss import GANLoss
from .l1_loss import L1Loss, PriorWeightedL1Loss
from .patch_nce_loss import PatchNCELoss
from .patch_sampling import gather_patches, sample_patch_ids
from .sb_loss import MIEstimatorLoss, SchrodingerBridgeLoss
from .ssl_loss import SSLReconstructionLoss, quadrant_crop
from .through_plane_loss import ThroughPlaneL1Loss

__all__ = [
    'GANLoss', 'L1Loss', 'PriorWeightedL1Loss', 'AreaNormalisedPriorL1Loss', 'PatchNCELoss',
    'sample_patch_ids',
    'gather_patches', 'SchrodingerBridgeLoss', 'MIEstimatorLoss',
    'SSLReconstructionLoss', 'quadrant_crop', 'ThroughPlaneL1Loss',
]
