"""Networks: generators, discriminators, the MI estimator and the feature MLP
(and SynDiff's NCSN++ generator and pair discriminator).

Importing this package registers every network in ``fgsb.registry.MODELS``.
"""
from .mi_estimator import MIEstimator
from .ncsnpp_generator import NCSNppGenerator
from .patch_discriminator import PatchDiscriminator
from .patch_sample_mlp import PatchSampleMLP
from .resnet_generator import ResnetGenerator
from .ssl_discriminator import SelfSupervisedDiscriminator
from .time_conditional_pair_discriminator import TimeConditionalPairDiscriminator
from .time_conditional_resnet_generator import TimeConditionalResnetGenerator
from .unet_generator import UnetGenerator

__all__ = ['MIEstimator', 'PatchDiscriminator', 'PatchSampleMLP', 'ResnetGenerator',
           'SelfSupervisedDiscriminator', 'TimeConditionalResnetGenerator', 'UnetGenerator',
           'NCSNppGenerator', 'TimeConditionalPairDiscriminator']
