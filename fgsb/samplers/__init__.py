"""Bridge samplers: time grid, one bridge step, guidance schedules and the chain;
and SynDiff's few-step diffusion (schedule, posterior, chain)."""
from .bridge_step import bridge_step, guided_prediction
from .diffusion_sampler import AdversarialDiffusionSampler
from .diffusion_schedule import posterior_coefficients, step_betas, vp_alpha_bars
from .guidance import (ConstantGuidance, CosineGuidance, LinearGuidance, ListGuidance,
                       annealed_guidance_scale)
from .schrodinger_bridge_sampler import SchrodingerBridgeSampler
from .slice_noise import SAMPLING_MODES, SliceNoise, VolumeNoise, draw_normal
from .time_grid import bridge_coefficients, bridge_time_grid

__all__ = [
    'bridge_time_grid', 'bridge_coefficients', 'bridge_step', 'guided_prediction',
    'LinearGuidance', 'CosineGuidance', 'ConstantGuidance', 'ListGuidance',
    'annealed_guidance_scale',
    'SchrodingerBridgeSampler',
    'SAMPLING_MODES', 'VolumeNoise', 'SliceNoise', 'draw_normal',
    'vp_alpha_bars', 'step_betas', 'posterior_coefficients', 'AdversarialDiffusionSampler',
]
