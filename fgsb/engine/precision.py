"""The precision a run computes in: fp32, or bf16 autocast where it pays.

One policy for training, testing, benchmarking and synthesis:

- ``fp32``: plain float32;
- ``bf16``: ``torch.autocast`` to bfloat16 (convolutions and matmuls in bf16,
  weights and optimiser state stay float32; bf16 keeps float32's exponent
  range, so no loss scaling);
- ``auto``: bf16 where the device computes it natively, else fp32.

Native bf16 means a CUDA device that reports bf16 support, or a CPU with bf16
arithmetic instructions: AVX512-BF16 or AMX-BF16 on x86, the BF16 extension
(NEON or SVE) on ARM. oneDNN's own check (``torch.ops.mkldnn.
_is_mkldnn_bf16_supported``) is true on any AVX-512 CPU, where bf16 is only
emulated and many times slower than fp32 (docs/benchmarks.md), so the CPU
check reads the instruction sets from ``torch.cpu.get_capabilities``.

Places where bf16 would hurt (loss reductions, the MI estimator's
logsumexp, PatchNCE's logits) run in float32 under autocast through
:func:`float32_island`: CPU autocast already keeps ``l1_loss``, ``mse_loss``,
``cross_entropy``, ``binary_cross_entropy_with_logits`` and reflection padding
in float32, but plain arithmetic and reductions (``mean``, ``sum``, ``**``)
and ``logsumexp`` follow their input's dtype, and ``bmm`` is cast down to
bf16. Batch and instance norm need no section: their kernels accumulate
the statistics in float32 for bf16 input (instance norm rounds the mean to
bf16, an error that grows with a channel's offset / spread: about 0.006 of
the output at 2, 0.06 at 20). A float32 section there cost 0.05 s of the
quick-start step's 0.42 s, and the quality check measured no loss without
it (docs/benchmarks.md).
"""
import argparse
import functools
import sys
from contextlib import nullcontext
from dataclasses import dataclass

import torch

PRECISIONS = ('fp32', 'bf16', 'auto')
# bf16 where native: the quality check found it within 0.03 dB of fp32 over
# 3 seeds, and 1.6x faster (docs/benchmarks.md, "bf16 quality check").
DEFAULT_PRECISION = 'auto'

# torch.cpu.get_capabilities() keys of bf16 arithmetic, with their usual names.
CPU_BF16_INSTRUCTIONS = (('amx_bf16', 'AMX-BF16'), ('avx512_bf16', 'AVX512-BF16'),
                         ('sve_bf16', 'SVE-BF16'), ('bf16', 'ARM BF16'))


@dataclass(frozen=True)
class Precision:
    """A resolved precision: ``name`` is 'fp32' or 'bf16'; ``reason`` says why."""

    name: str
    reason: str

    @property
    def is_bf16(self) -> bool:
        return self.name == 'bf16'

    def as_dict(self) -> dict:
        return {'precision': self.name, 'reason': self.reason}


def requested_precision(flag, cfg=None) -> str:
    """What a run asks for: ``--precision`` when given, else the config's
    top-level ``precision`` key, else :data:`DEFAULT_PRECISION`."""
    if flag is not None:
        return flag
    requested = cfg.get('precision', DEFAULT_PRECISION) if cfg is not None else DEFAULT_PRECISION
    if requested not in PRECISIONS:
        source = getattr(cfg, 'filename', None) or 'config'
        raise ValueError(f"{source}: config key precision must be one of "
                         f"{', '.join(PRECISIONS)}, got {requested!r}")
    return requested


class _DeprecatedAmp(argparse.Action):
    """``--amp``: the old spelling of ``--precision bf16``."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        print('warning: --amp is deprecated, use --precision bf16', file=sys.stderr)
        setattr(namespace, self.dest, 'bf16')


def add_precision_argument(parser, amp_alias=False):
    """``--precision {fp32,bf16,auto}`` (and the deprecated ``--amp`` alias of
    ``--precision bf16`` where a tool had it) into ``args.precision``."""
    parser.add_argument('--precision', choices=PRECISIONS, default=None,
                        help='fp32, bf16 autocast, or auto (bf16 where the device runs it '
                             "natively); default: the config's precision, else "
                             f'{DEFAULT_PRECISION} (docs/benchmarks.md)')
    if amp_alias:
        parser.add_argument('--amp', dest='precision', action=_DeprecatedAmp,
                            help='deprecated: the same as --precision bf16')


def _device_type(device) -> str:
    return torch.device(device).type


def _cpu_bf16_instructions() -> list:
    """Names of the bf16 instruction sets of this CPU (empty: none)."""
    get_capabilities = getattr(torch.cpu, 'get_capabilities', None)
    if get_capabilities is not None:
        capabilities = get_capabilities()
    else:  # torch before get_capabilities: its x86 helpers (AMX-BF16 comes with AMX tiles)
        capabilities = {key: getattr(torch.cpu, helper, lambda: False)()
                        for key, helper in (('avx512_bf16', '_is_avx512_bf16_supported'),
                                            ('amx_bf16', '_is_amx_tile_supported'))}
    return [name for key, name in CPU_BF16_INSTRUCTIONS if capabilities.get(key)]


def native_bf16(device) -> bool:
    """Whether ``device`` ('cpu', 'cuda', 'cuda:1', a ``torch.device``)
    computes bf16 natively (see the module docstring)."""
    device_type = _device_type(device)
    if device_type == 'cuda':
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device_type == 'cpu':
        return bool(_cpu_bf16_instructions())
    return False


def _native_support(device_type: str) -> str:
    """What makes bf16 native here, for a reason sentence."""
    if device_type == 'cuda':
        return f'the CUDA device {torch.cuda.get_device_name()} computes bf16 natively'
    return f"this CPU computes bf16 natively ({' and '.join(_cpu_bf16_instructions())})"


def resolve_precision(requested: str, device) -> Precision:
    """The precision a run on ``device`` uses for ``requested``
    ('fp32', 'bf16' or 'auto').

    Explicit bf16 on a CPU without native bf16 is allowed (it runs, slowly:
    the reason says so); on a CUDA device without bf16 it is a ValueError,
    as autocast would refuse it.
    """
    if requested not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, "
                         f'got {requested!r}')
    device_type = _device_type(device)
    if requested == 'fp32':
        return Precision('fp32', 'fp32 was requested')
    native = native_bf16(device)
    if requested == 'auto':
        if native:
            return Precision('bf16', f'auto chose bf16 autocast: {_native_support(device_type)}')
        return Precision('fp32', f'auto chose fp32: {_no_native_support(device_type)}')
    if native:
        return Precision('bf16', f'bf16 was requested; {_native_support(device_type)}')
    if device_type == 'cuda':
        raise ValueError(f'precision bf16: {_no_native_support(device_type)}; '
                         'use fp32 or auto')
    return Precision('bf16', f'bf16 was requested, but {_no_native_support(device_type)}: '
                             'bf16 is emulated there and can be many times slower than fp32')


def _no_native_support(device_type: str) -> str:
    if device_type == 'cuda':
        return 'there is no CUDA device with bf16 support'
    if device_type == 'cpu':
        known = ', '.join(name for _, name in CPU_BF16_INSTRUCTIONS)
        return f'this CPU has no native bf16 instructions ({known})'
    return f'native bf16 is not checked on {device_type} devices'


def autocast(precision: Precision, device):
    """A bf16 ``torch.autocast`` context for a bf16 precision, else a null context."""
    if not isinstance(precision, Precision):
        raise TypeError(f'autocast needs a Precision (resolve_precision), got {precision!r}')
    if not precision.is_bf16:
        return nullcontext()
    return torch.autocast(device_type=_device_type(device), dtype=torch.bfloat16)


def to_float32(value):
    """``value`` with every bf16/fp16 tensor (also inside tuples, lists and
    dicts) cast to float32; other values unchanged."""
    if isinstance(value, torch.Tensor):
        return value.float() if value.dtype in (torch.bfloat16, torch.float16) else value
    if isinstance(value, (tuple, list)):
        return type(value)(to_float32(item) for item in value)
    if isinstance(value, dict):
        return {key: to_float32(item) for key, item in value.items()}
    return value


def run_in_precision(precision: Precision, device, fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` under :func:`autocast`, its tensors returned as float32
    (the inference path: callers and writers see float32 whatever ran)."""
    with autocast(precision, device):
        return to_float32(fn(*args, **kwargs))


def _first_device_type(values) -> str:
    for value in values:
        if isinstance(value, torch.Tensor):
            return value.device.type
        if isinstance(value, (tuple, list)):
            found = _first_device_type(value)
            if found:
                return found
    return ''


def float32_island(fn):
    """Decorate ``fn`` (a function or a module's ``forward``) to compute in
    float32 under autocast: its bf16/fp16 tensor arguments are cast to
    float32 and autocast is off inside, so neither its reductions nor its
    matmuls drop to bf16. Outside autocast it only casts low-precision inputs."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        device_type = _first_device_type(list(args) + list(kwargs.values())) or 'cpu'
        with torch.autocast(device_type=device_type, enabled=False):
            return fn(*to_float32(args), **to_float32(kwargs))
    return wrapper
