"""2.5D input: a slice's source together with its neighbours along the axis.

docs/volumes.md ("2.5D input"). With ``context_slices = n`` the source of
the slice at index ``s`` of the volume is a stack of ``2n + 1`` channels,
centre first: ``[s, s-n, ..., s-1, s+1, ..., s+n]`` (channel 0 is the slice
itself, so everything that reads channel 0 of a source still sees it).

The neighbours come from the volume's own slice order: a neighbour that the
brain-fraction filter drops from training (or that holds no brain) is still
that slice of the volume, preprocessed like every other; only beyond the
volume's first and last slice the edge slice is repeated (indices clamped
to ``0..depth-1``). Training (``volume_cache``) and synthesis
(``fgsb.apis.volume_input``) build the stacks with these functions, so a
slice gets the same network input in both.

Multi-slice output (``target_context_slices = m``) stacks the target the
same way, ``2m + 1`` channels centre first: a generator trained on such
targets predicts its slice and ``m`` neighbours a side, and
``slice_overlap.overlap_average`` gives each slice of a volume the mean of
every prediction of it (docs/volumes.md, "Multi-slice output").
"""
from dataclasses import replace

import numpy as np


def check_context_slices(n, name='context_slices'):
    """``n`` as an int >= 0, or a ValueError naming ``name``."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f'{name} must be an integer >= 0 (neighbour slices on each side), '
                         f'got {n!r}')
    return int(n)


def context_channels(n):
    """Source channels of a one-channel image with ``n`` neighbours a side."""
    return 2 * check_context_slices(n) + 1


def stack_offsets(n):
    """``(2n+1,)`` int array: the slice offset of each channel of a stack,
    centre first: ``[0, -n, ..., -1, 1, ..., n]``."""
    n = check_context_slices(n)
    return np.concatenate([[0], np.arange(-n, 0), np.arange(1, n + 1)]).astype(np.int64)


def stack_half_width(channels, name='prediction'):
    """``n`` of a centre-first stack of ``channels = 2n + 1`` channels, or a
    ValueError naming ``name``."""
    if isinstance(channels, bool) or not isinstance(channels, (int, np.integer)) \
            or channels < 1 or channels % 2 == 0:
        raise ValueError(f'{name} has {channels!r} channels: a stack of a slice and n '
                         'neighbours a side has an odd number, 2n + 1')
    return (int(channels) - 1) // 2


def neighbour_indices(indices, depth, n):
    """``(len(indices), 2n)`` int array: the slices ``s-n..s-1, s+1..s+n`` of
    each index ``s``, clamped to the volume's ``0..depth-1`` (the edge slice
    repeated beyond the ends)."""
    neighbours = stack_offsets(n)[1:]
    return np.clip(np.asarray(indices, dtype=np.int64)[:, None] + neighbours, 0, depth - 1)


def neighbour_plan(layout, n):
    """``(neighbour_layout, positions)`` for ``layout``'s slices and ``n`` a side.

    ``neighbour_layout`` is ``layout`` over the distinct neighbour slices
    (each is preprocessed once); ``positions[k, j]`` is the place in it of
    neighbour ``j`` of ``layout``'s slice ``k``.
    """
    depth = layout.volume_shape[layout.axis]
    neighbours = neighbour_indices(layout.indices, depth, n)
    distinct = np.unique(neighbours)
    positions = np.searchsorted(distinct, neighbours)
    return replace(layout, indices=tuple(int(s) for s in distinct)), positions


def slice_stacks(centre, neighbours, positions):
    """``(N, 2n+1, S, S)`` float32: each centre slice ``(N, S, S)`` followed
    by its neighbours, ``neighbours[positions[k]]`` (``neighbour_plan``)."""
    centre = np.asarray(centre, dtype=np.float32)
    around = np.asarray(neighbours, dtype=np.float32)[np.asarray(positions)]
    return np.ascontiguousarray(np.concatenate([centre[:, None], around], axis=1))
