"""What every image-to-image algorithm of the toolbox shares: inference and evaluation.

Training differs per algorithm (each writes its own ``train_step``);
inference does not: ``translate`` a source in ``nfe`` steps, or draw several
translations with ``sample_many``. Tools, APIs and the evaluator use only
this interface, never a model's sampler or private members.
"""
import zlib
from typing import Optional

import torch
from mmengine.model import BaseModel

from fgsb.datasets.batch_keys import BRAIN_MASK, LESION_MASK, META, PRIOR, SOURCE, TARGET
from fgsb.samplers.slice_noise import SliceNoise, VolumeNoise, sampling_rho


def set_requires_grad(modules, requires_grad):
    """Freeze or unfreeze whole networks (skips the None entries)."""
    for module in modules:
        if module is not None:
            for param in module.parameters():
                param.requires_grad_(requires_grad)


class BaseTranslator(BaseModel):
    """A model that maps a batch of ``source`` slices to predicted targets.

    Subclasses implement ``_translation_steps(source, nfe, generator)`` (the
    prediction after each of ``nfe`` steps) and ``train_step``; a multi-step
    or random model also overrides ``num_steps`` and ``is_stochastic``.
    """

    @property
    def num_steps(self) -> int:
        """The trained number of steps (generator calls) of one translation."""
        return 1

    @property
    def is_stochastic(self) -> bool:
        """Whether two translations of one source differ (latent draws, noise)."""
        return False

    @property
    def is_guided(self) -> bool:
        """Whether training guides a chain towards the target (FGSB)."""
        return False

    @property
    def source_channels(self) -> int:
        """Channels of the ``source`` that ``translate`` takes (tools build
        dummy inputs from it): the generator's input channels by default."""
        return getattr(self.generator, 'in_channels', 1)

    # what a config sets for a source of 2n+1 channels (2.5D input, docs/volumes.md)
    in_channels_rule = 'model.generator.in_channels=2n+1'

    def check_source(self, source: torch.Tensor):
        """A ValueError naming the options unless ``source`` is ``(B,
        source_channels, H, W)``: a data set with ``context_slices=n`` gives
        ``2n + 1`` channels (docs/volumes.md)."""
        if source.dim() != 4 or source.shape[1] != self.source_channels:
            raise ValueError(
                f'{type(self).__name__} reads sources of {self.source_channels} channels, got '
                f'shape {tuple(source.shape)}: the data set\'s context_slices=n gives 2n+1 '
                f'channels; set {self.in_channels_rule} to match it')

    @property
    def target_channels(self) -> int:
        """Channels of a target (and of a prediction): one slice, or ``2m + 1``
        for multi-slice output (a data set with ``target_context_slices=m``,
        docs/volumes.md), the generator's output channels."""
        return getattr(self.generator, 'out_channels', 1)

    # what a config sets for targets of 2m+1 channels; None: the model predicts one slice
    out_channels_rule = None

    def check_target(self, target: torch.Tensor):
        """A ValueError naming the options unless ``target`` is ``(B,
        target_channels, H, W)``."""
        if target.dim() == 4 and target.shape[1] == self.target_channels:
            return
        name = type(self).__name__
        if self.out_channels_rule is None:
            fix = (f'{name} predicts one slice: set the data set\'s target_context_slices=0 '
                   '(multi-slice output is a Pix2Pix option)')
        else:
            fix = f'set {self.out_channels_rule} to match it'
        raise ValueError(
            f'{name} predicts targets of {self.target_channels} channels, got shape '
            f'{tuple(target.shape)}: the data set\'s target_context_slices=m gives 2m+1 '
            f'channels; {fix}')

    def translate(self, source: torch.Tensor, nfe: Optional[int] = None,
                  generator: Optional[torch.Generator] = None, return_steps: bool = False):
        """The prediction for ``source`` after ``nfe`` steps (default: the trained
        ``num_steps``); ``generator`` seeds a stochastic model's draws: a
        ``torch.Generator``, or a ``SliceNoise`` (``fgsb.samplers.slice_noise``)
        that makes them consistent across a volume's slices (a model drawing
        through ``draw_normal`` honours both).

        Returns the prediction, or ``(prediction, [prediction of each step])``
        with ``return_steps`` (one entry for a one-step model).
        """
        self.check_source(source)
        steps = self._translation_steps(source, self.checked_nfe(nfe), generator)
        return (steps[-1], steps) if return_steps else steps[-1]

    def sample_many(self, source: torch.Tensor, num_samples: int, nfe: Optional[int] = None,
                    generator: Optional[torch.Generator] = None
                    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-voxel mean and spread over ``num_samples`` translations.

        The spread is the population standard deviation (divisor K), so one
        draw gives 0, not NaN; Welford's running update keeps one draw in
        memory at a time. A deterministic model is translated once: every
        draw would be the same.
        """
        if isinstance(num_samples, bool) or not isinstance(num_samples, int) \
                or num_samples < 1:
            raise ValueError(f'num_samples must be an integer >= 1, got {num_samples!r}')
        nfe = self.checked_nfe(nfe)
        draws = num_samples if self.is_stochastic else 1
        mean = m2 = None
        for count in range(1, draws + 1):
            # float32 even under bf16 autocast: Welford's sums need it
            sample = self.translate(source, nfe, generator).float()
            if mean is None:
                mean, m2 = sample.clone(), torch.zeros_like(sample)
                continue
            delta = sample - mean
            mean += delta / count
            m2 += delta * (sample - mean)
        return mean, (m2 / draws).clamp_min(0).sqrt()

    def checked_nfe(self, nfe) -> int:
        """``nfe`` as an int in ``1..num_steps`` (``None``: ``num_steps``), or a
        ValueError naming the range."""
        if nfe is None:
            return self.num_steps
        try:
            valid = not isinstance(nfe, bool) and int(nfe) == nfe \
                and 1 <= nfe <= self.num_steps
        except (TypeError, ValueError):
            valid = False
        if valid:
            return int(nfe)
        name = type(self).__name__
        if self.num_steps == 1:
            raise ValueError(f'{name} is a one-step model: nfe must be 1 (or None), '
                             f'got {nfe!r}')
        raise ValueError(f'nfe must be an integer from 1 to {self.num_steps} (the steps '
                         f'{name} was trained with), got {nfe!r}')

    def _translation_steps(self, source, nfe, generator):
        raise NotImplementedError

    def forward(self, inputs, data_samples=None, mode='tensor'):
        # MMEngine calls forward only through val/test steps and FLOP tools.
        return self.translate(inputs)

    def set_test_sampling(self, mode: str = 'independent', rho: Optional[float] = None,
                          seed: int = 0):
        """How ``val_step``/``test_step`` draw: ``'independent'`` (default,
        fresh draws from the global RNG), ``'shared'`` or ``'correlated'``
        (with ``rho``) draws within each test subject, from ``seed`` and the
        subject's name (docs/volumes.md)."""
        rho = sampling_rho(mode, rho)
        if rho is not None and not self.is_stochastic:
            raise ValueError(f'{type(self).__name__} is deterministic: {mode} sampling does '
                             'not apply to it')
        self._test_sampling = None if rho is None else (rho, int(seed))
        self._test_volumes = {}

    def test_noise(self, metas) -> Optional[SliceNoise]:
        """The ``SliceNoise`` of a test batch's slices, or None for independent draws."""
        sampling = getattr(self, '_test_sampling', None)
        if sampling is None:
            return None
        rho, seed = sampling
        rows = []
        for meta in metas:
            subject = str(meta['subject'])
            if subject not in self._test_volumes:
                self._test_volumes[subject] = VolumeNoise(
                    rho, (seed, zlib.crc32(subject.encode())))
            rows.append((self._test_volumes[subject], int(meta['slice_index'])))
        return SliceNoise(rows)

    def val_step(self, data):
        data = self.data_preprocessor(data, False)
        prediction = self.translate(data[SOURCE], generator=self.test_noise(data[META]))
        return self.pack_outputs(data, prediction)

    def test_step(self, data):
        return self.val_step(data)

    @staticmethod
    def pack_outputs(data, prediction):
        """One dict a slice, with CPU tensors, for the evaluator."""
        outputs = []
        for i, meta in enumerate(data[META]):
            sample = {'pred': prediction[i].detach().float().cpu(), 'meta': meta}
            for key in (SOURCE, TARGET, BRAIN_MASK, LESION_MASK, PRIOR):
                if key in data:
                    sample[key] = data[key][i].detach().float().cpu()
            outputs.append(sample)
        return outputs
