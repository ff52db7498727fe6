"""Acquisition of phantom version 2: a site's voxel, bias field and noise.

A contrast is acquired as a scanner does and then resampled as a
pipeline does: the 1 mm signal is multiplied by the receive (bias) field,
averaged over the acquisition voxel (a box slice profile: thick 2-D
slices blur across slices), Rician noise is added at that resolution, and
the result is linearly interpolated back onto the 1 mm grid (so the noise
is correlated across the thick slices, as in resampled clinical scans).
See docs/phantom.md.
"""
import numpy as np

from .phantom_deformation import smooth_random_field

BIAS_SPACING_MM = 64.0
QUANTUM_INV = 8  # written intensities are multiples of 1/8 a.u.


def acquisition_factors(voxel_mm, spacing_mm):
    """Grid voxels per acquisition voxel along each axis (1 = the grid's own)."""
    return tuple(max(1, int(round(size / spacing_mm))) for size in voxel_mm)


def block_mean(volume, factor, axis):
    """Mean over consecutive blocks of ``factor`` voxels along ``axis`` (the
    last block padded by repeating the edge)."""
    if factor == 1:
        return volume
    n = volume.shape[axis]
    blocks = -(-n // factor)
    pad = [(0, 0)] * volume.ndim
    pad[axis] = (0, blocks * factor - n)
    padded = np.pad(volume, pad, mode='edge')
    shape = padded.shape[:axis] + (blocks, factor) + padded.shape[axis + 1:]
    return padded.reshape(shape).mean(axis=axis + 1, dtype=np.float32)


def upsample_linear(volume, factor, length, axis):
    """Linear interpolation from block centres back to ``length`` voxels."""
    if factor == 1:
        return volume
    blocks = volume.shape[axis]
    position = (np.arange(length) - (factor - 1) / 2) / factor
    lower = np.clip(np.floor(position).astype(int), 0, blocks - 1)
    upper = np.clip(lower + 1, 0, blocks - 1)
    weight = np.clip(position - lower, 0, 1).astype(np.float32)
    shape = [1] * volume.ndim
    shape[axis] = length
    weight = weight.reshape(shape)
    return (np.take(volume, lower, axis=axis) * (1 - weight)
            + np.take(volume, upper, axis=axis) * weight)


def acquire(signal, voxel_mm, spacing_mm, noise, bias_std, reference, rng):
    """One contrast acquired at ``voxel_mm`` and resampled to ``signal``'s grid.

    ``noise`` is the Rician sigma relative to the mean of ``signal`` over the
    boolean ``reference`` (the brain); the draw order is fixed (bias, noise).
    """
    sigma = np.float32(noise * float(signal[reference].mean()))
    log_bias = smooth_random_field(rng, signal.shape, BIAS_SPACING_MM / spacing_mm, bias_std)
    acquired = signal * np.exp(log_bias, dtype=np.float32)
    factors = acquisition_factors(voxel_mm, spacing_mm)
    for axis, factor in enumerate(factors):
        acquired = block_mean(acquired, factor, axis)
    noisy = rng.standard_normal((2,) + acquired.shape, dtype=np.float32) * sigma
    acquired = np.sqrt((acquired + noisy[0]) ** 2 + noisy[1] ** 2)
    for axis, factor in enumerate(factors):
        acquired = upsample_linear(acquired, factor, signal.shape[axis], axis)
    return np.round(acquired * np.float32(QUANTUM_INV)) / np.float32(QUANTUM_INV)
