"""The random states a training consumes, saved with a checkpoint and
restored on resume, so that a resumed run draws what the uninterrupted run
would have drawn.

Training draws from the global generators of torch (CPU and CUDA), numpy and
Python's ``random``: the bridge step, the noise, the patch positions, the
data set's flips and negative slices. The data order needs no state of its
own: MMEngine's ``DefaultSampler`` shuffles from ``seed + epoch``.

Validation also draws (bridge sampling), between a checkpoint and the next
training iteration; :class:`TrainingRandomStateHook` gives the training
streams back after it, so that whether a validation ran in between (it does
not after a resume) cannot change the training.
"""
import random

import numpy as np
import torch
from mmengine.hooks import Hook


def capture_random_states():
    """The state of every global generator, as data ``torch.load`` reads
    weights-only (tensors, numpy arrays, ints, tuples)."""
    states = dict(torch=torch.get_rng_state(), numpy=np.random.get_state(),
                  python=random.getstate())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states['cuda'] = torch.cuda.get_rng_state_all()
    return states


def restore_random_states(states):
    """Set every global generator back to ``states`` (from
    :func:`capture_random_states`); CUDA only when the device count matches."""
    torch.set_rng_state(states['torch'])
    np.random.set_state(tuple(states['numpy']))
    version, internal, gauss = states['python']
    random.setstate((version, tuple(internal), gauss))
    cuda = states.get('cuda')
    if cuda is not None and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)


class RestoreAfterSkipping:
    """An iterator over batches that restores ``states`` just before it
    yields batch number ``skip`` (0-based).

    MMEngine's ``IterBasedTrainLoop`` resumes by drawing and dropping the
    batches trained before the checkpoint; their transforms draw random
    numbers (flips, negative slices), so the states can only be put back
    after those batches and before the first batch trained again.
    """

    def __init__(self, iterator, skip, states):
        self.iterator = iterator
        self.remaining = skip
        self.states = states

    def __iter__(self):
        return self

    def __next__(self):
        if self.states is not None and self.remaining == 0:
            restore_random_states(self.states)
            self.states = None
        self.remaining -= 1
        return next(self.iterator)


class TrainingRandomStateHook(Hook):
    """Validation during training leaves the training's random streams as
    it found them (``ToolboxRunner`` registers it in every run)."""

    priority = 'VERY_HIGH'

    def __init__(self):
        self._states = None

    def training_states(self):
        """The states the training continues from: during a validation (a
        best-checkpoint save), those from before it."""
        return self._states if self._states is not None else capture_random_states()

    def before_val(self, runner):
        self._states = capture_random_states()

    def after_val(self, runner):
        if self._states is not None:
            restore_random_states(self._states)
            self._states = None
