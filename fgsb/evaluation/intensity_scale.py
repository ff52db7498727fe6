"""The scale every score is computed on."""
import numpy as np


def to_unit_range(volume):
    """Map the model's [-1, 1] intensities to [0, 1] (data range 1)."""
    return np.clip((volume + 1.0) / 2.0, 0.0, 1.0)
