"""Random draws of a chain: independent per slice, or consistent within a volume.

Every latent ``z`` and every bridge-noise map a chain draws goes through
``draw_normal``. With a ``torch.Generator`` (or None) each slice gets fresh
draws, as a 2-D model always did. With a ``SliceNoise`` the ``d``-th draw of
a chain is, for each slice ``s`` of a volume, the value ``e_d(s)`` of one
process along the slices (docs/volumes.md):

- ``shared`` (``rho = 1``): ``e_d(s) = e_d``, the same for every slice;
- ``correlated`` (``0 < rho < 1``): AR(1),
  ``e_d(s) = rho e_d(s - 1) + sqrt(1 - rho^2) w_d(s)``, ``w`` i.i.d.
  N(0, I), so every ``e_d(s)`` is N(0, I) and neighbours correlate by ``rho``.

A draw ``d`` has its own CPU generator seeded from ``(seed..., d)``, so a
slice's draws do not depend on the batch size or on which batch holds it.
"""
import math
from typing import Optional, Sequence, Union

import numpy as np
import torch

SAMPLING_MODES = ('independent', 'shared', 'correlated')


def draw_normal(shape, like: torch.Tensor,
                generator: Union[None, torch.Generator, 'SliceNoise'],
                dtype: Optional[torch.dtype] = None) -> torch.Tensor:
    """N(0, I) draws of ``shape`` on ``like``'s device, in ``like``'s dtype
    unless ``dtype`` is given.

    A ``torch.Generator`` draws on its own device and the result is moved,
    so that a CPU generator also seeds a chain that runs on a GPU; a
    ``SliceNoise`` gives its chain's next consistent draw.
    """
    if isinstance(generator, SliceNoise):
        noise = generator.draw(shape)
    else:
        device = generator.device if generator is not None else like.device
        noise = torch.randn(shape, generator=generator, device=device)
    return noise.to(device=like.device, dtype=dtype or like.dtype)


def _seeded_generator(entropy):
    state = np.random.SeedSequence([int(e) for e in entropy]).generate_state(2, np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 31 | int(state[1]) >> 1)


class VolumeNoise:
    """The draws of one sample of one volume, slice by slice.

    Args:
        rho: neighbour correlation; 1 shares every draw between the slices.
        seed: integers that seed the sample (e.g. ``(seed, sample)``).

    With ``rho < 1`` a draw's process starts at slice position 0 and is
    stepped forward to the slice asked for, so ``e_d(s)`` depends on
    ``(seed, d, s)`` alone: slices may be asked for in any order (going
    back replays the process from 0; in slice order each step is drawn once).
    """

    def __init__(self, rho: float, seed: Sequence[int]):
        if not 0.0 < rho <= 1.0:
            raise ValueError(f'slice correlation rho must lie in (0, 1], got {rho}')
        self.rho = float(rho)
        self.seed = tuple(int(s) for s in seed)
        self._shapes = {}  # draw index -> item shape
        self._states = {}  # draw index -> (generator, slice position, value there)

    def _start(self, draw):
        generator = _seeded_generator((*self.seed, draw))
        self._states[draw] = (generator, 0, torch.randn(self._shapes[draw],
                                                        generator=generator))

    def value(self, draw: int, shape, slice_index: int) -> torch.Tensor:
        """``e_draw(slice_index)``, float32 of ``shape`` on the CPU."""
        shape = tuple(int(n) for n in shape)
        known = self._shapes.setdefault(draw, shape)
        if shape != known:
            raise ValueError(f'draw {draw} of this volume has shape {known}, now '
                             f'{shape} is asked for: every batch of a volume must run the '
                             'same chain (same model and nfe)')
        if slice_index < 0:
            raise ValueError(f'slice positions are >= 0, got {slice_index}')
        if draw not in self._states or (self.rho < 1.0 and slice_index < self._states[draw][1]):
            self._start(draw)
        generator, position, current = self._states[draw]
        if self.rho == 1.0:
            return current
        innovation = math.sqrt(1.0 - self.rho ** 2)
        for _ in range(slice_index - position):
            current = self.rho * current + innovation * torch.randn(shape,
                                                                    generator=generator)
        self._states[draw] = (generator, slice_index, current)
        return current

    def chain(self, slice_indices: Sequence[int]) -> 'SliceNoise':
        """The draws of one chain over a batch of this volume's slices."""
        return SliceNoise([(self, int(s)) for s in slice_indices])


class SliceNoise:
    """The draws of one chain (one ``translate`` call) over a batch whose row
    ``i`` is slice ``rows[i][1]`` of the volume ``rows[i][0]`` (a
    ``VolumeNoise``); pass it as the ``generator`` of ``translate``.

    Each ``draw`` is the chain's next draw: a new object a chain.
    """

    def __init__(self, rows):
        self.rows = list(rows)
        self.draws = 0

    def draw(self, shape) -> torch.Tensor:
        if shape[0] != len(self.rows):
            raise ValueError(f'a draw of batch size {shape[0]} from slice noise made for '
                             f'{len(self.rows)} slices')
        index, self.draws = self.draws, self.draws + 1
        return torch.stack([volume.value(index, shape[1:], s) for volume, s in self.rows])


def sampling_rho(mode: str, rho: Optional[float] = None) -> Optional[float]:
    """The neighbour correlation of a sampling ``mode`` (None: independent),
    or a ValueError naming the option that does not fit."""
    if mode not in SAMPLING_MODES:
        raise ValueError(f'sampling must be one of {", ".join(SAMPLING_MODES)}, got {mode!r}')
    if mode == 'correlated':
        if rho is None or not 0.0 < rho < 1.0:
            raise ValueError(f'correlated sampling needs a slice correlation rho in (0, 1), '
                             f'got {rho!r}')
        return float(rho)
    if rho is not None:
        raise ValueError(f'a slice correlation rho applies to correlated sampling only, not '
                         f'to {mode!r}')
    return 1.0 if mode == 'shared' else None
