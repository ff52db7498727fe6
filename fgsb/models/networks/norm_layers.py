"""Normalisation layers of the pix2pix/CUT family, chosen by name."""
import torch.nn as nn

NORM_TYPES = ('batch', 'instance')


def check_norm(norm: str) -> str:
    """Return ``norm`` if it names a known normalisation, else raise."""
    if norm not in NORM_TYPES:
        raise ValueError(f"norm must be one of {NORM_TYPES}, got {norm!r}")
    return norm


def make_norm(norm: str, channels: int) -> nn.Module:
    """Batch norm with learnt affine and running statistics, or instance norm
    without either (the pix2pix defaults).

    Under bf16 autocast they take bf16 input and give bf16 output, but torch's
    CPU and CUDA kernels accumulate the statistics in float32 (and keep the
    running statistics float32), so no float32 section is needed here: casting
    up would only cost time, the input is already the bf16 conv's
    (tests/test_precision.py checks the accumulation)."""
    if check_norm(norm) == 'batch':
        return nn.BatchNorm2d(channels, affine=True, track_running_stats=True)
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


def conv_bias(norm: str) -> bool:
    """Whether a conv followed by ``norm`` needs its own bias: batch norm has
    a learnt shift, instance norm (without affine) does not."""
    return check_norm(norm) == 'instance'
