"""Bridge samplers: time grid, one bridge step, guidance schedules and the chain."""
from .bridge_step import bridge_step, guided_prediction
from .guidance import (ConstantGuidance, CosineGuidance, LinearGuidance, ListGuidance,
                       annealed_guidance_scale)
from .schrodinger_bridge_sampler import SchrodingerBridgeSampler
from .time_grid import bridge_coefficients, bridge_time_grid

__all__ = [
    'bridge_time_grid', 'bridge_coefficients', 'bridge_step', 'guided_prediction',
    'LinearGuidance', 'CosineGuidance', 'ConstantGuidance', 'ListGuidance',
    'annealed_guidance_scale',
    'SchrodingerBridgeSampler',
]
