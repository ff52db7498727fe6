"""Multi-slice output: one image a slice from overlapping stacks of predictions.

docs/volumes.md, "Multi-slice output". A generator trained on target
stacks (``target_context_slices = m``) predicts, at each centre slice, the
slice and its ``m`` neighbours a side, centre first
(``slice_context.stack_offsets``). Synthesis (``fgsb.apis.volume_synthesis``)
and the test evaluator (``VolumeSynthesisMetric``) turn those overlapping
stacks into one image a slice with ``overlap_average``.
"""
import numpy as np

from .slice_context import stack_half_width, stack_offsets


def overlap_average(stacks, indices):
    """``(N, H, W)`` float32: each slice's mean over every prediction of it.

    ``stacks`` ``(N, 2m+1, H, W)`` are predictions, centre first
    (``stack_offsets``), made at the centre slices ``indices`` (``N``
    distinct slice indices of one volume). Channel ``j`` of the stack at
    ``s`` predicts slice ``s + stack_offsets(m)[j]``; slice ``indices[k]``
    gets the mean of the predictions of it from every centre among
    ``indices`` (``2m + 1`` of them inside a run of slices, fewer at its
    ends), and a prediction of a slice outside ``indices`` is dropped. With
    ``m = 0`` this is the stacks' one channel.
    """
    stacks = np.asarray(stacks, dtype=np.float32)
    if stacks.ndim != 4:
        raise ValueError(f'overlap_average takes (N, 2m+1, H, W) stacks, got shape '
                         f'{stacks.shape}')
    indices = np.asarray(indices, dtype=np.int64)
    if indices.shape != (len(stacks),) or len(np.unique(indices)) != len(indices):
        raise ValueError(f'overlap_average needs one distinct slice index a stack: '
                         f'{len(stacks)} stacks, indices {indices.tolist()}')
    offsets = stack_offsets(stack_half_width(stacks.shape[1], 'each stack'))
    where = {int(s): k for k, s in enumerate(indices)}
    total = np.zeros((len(stacks), *stacks.shape[2:]), dtype=np.float64)
    count = np.zeros(len(stacks), dtype=np.int64)
    for k, centre in enumerate(indices):
        for channel, offset in enumerate(offsets):
            target = where.get(int(centre + offset))
            if target is not None:
                total[target] += stacks[k, channel]
                count[target] += 1
    return (total / count[:, None, None]).astype(np.float32)
