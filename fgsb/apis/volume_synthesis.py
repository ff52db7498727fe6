"""Synthesise the missing contrast of a whole volume.

The product's everyday use: a T1w volume in, the model's target contrast out,
on the input's voxel grid. Every slice that holds brain goes through the
model in batches (NFE generator calls each for a bridge model, docs/method.md §4);
slices and voxels outside the brain mask are background.

Output intensity scale (``OUTPUT_SCALE``): [0, 1], the model's [-1, 1]
mapped linearly, i.e. 0 and 1 are the target contrast's robust 0.5th and
99.5th percentiles inside the brain (the training normalisation), and the
background is 0. The uncertainty map is the per-voxel standard deviation of
the samples on the same scale.
"""
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import nibabel as nib
import numpy as np
import torch

from fgsb.engine.precision import resolve_precision, run_in_precision
from fgsb.datasets.slice_context import context_channels
from fgsb.datasets.slice_overlap import overlap_average
from fgsb.evaluation.finite_output import NonFiniteOutputError, non_finite_count
from fgsb.evaluation.intensity_scale import to_unit_range
from fgsb.samplers.slice_noise import VolumeNoise, sampling_rho
from .source_contrast import source_contrast_mismatch
from .synthesis_settings import synthesis_settings
from .volume_input import prepare_volume

OUTPUT_SCALE = ('float32 in [0, 1]: the model output in [-1, 1] mapped linearly, so that 0 '
                'and 1 are the target contrast\'s robust 0.5th and 99.5th percentiles inside '
                'the brain (as in training); background (outside the brain mask) is 0. The '
                'uncertainty map is the per-voxel standard deviation of the samples on the '
                'same scale.')


class SynthesisError(ValueError):
    """Synthesis arguments that do not fit the model."""


@dataclass
class SynthesisResult:
    """A synthesised volume on the input's grid, ready for ``save_volume``.

    ``synthetic`` (and ``uncertainty``, ``steps``) are float32 arrays of the
    input's shape on the ``OUTPUT_SCALE``; ``uncertainty`` is None for one
    sample; ``steps`` (with ``return_steps``) holds the prediction of each
    of the ``nfe`` steps, averaged over the samples. ``header`` is the
    input's, set up for float32 output. ``sampling`` and ``slice_correlation``
    say how the draws were shared between slices (``synthesize_volume``).
    """
    synthetic: np.ndarray
    affine: np.ndarray
    header: nib.Nifti1Header
    brain_mask: np.ndarray
    source_range: tuple
    nfe: int
    samples: int
    seed: int
    uncertainty: Optional[np.ndarray] = None
    steps: Optional[list] = None
    sampling: str = 'independent'
    slice_correlation: Optional[float] = None


def check_sampling(model, nfe=None, samples=1, sampling='independent',
                   slice_correlation=None):
    """The number of generator evaluations a slice gets, or ``SynthesisError``.

    A bridge model runs ``nfe`` steps, at most the ``model.num_steps`` its
    time embedding was trained with; a single-step model (Pix2Pix) takes no
    ``nfe``, and a deterministic one (``not model.is_stochastic``) no more
    than one sample and only ``'independent'`` sampling (it draws nothing).
    """
    if int(samples) != samples or samples < 1:
        raise SynthesisError(f'samples must be a positive integer, got {samples!r}')
    name, num_steps = type(model).__name__, int(model.num_steps)
    try:
        rho = sampling_rho(sampling, slice_correlation)
    except ValueError as err:
        raise SynthesisError(str(err)) from err
    if rho is not None and not model.is_stochastic:
        raise SynthesisError(f'{name} is deterministic: {sampling} sampling does not apply '
                             'to it (it draws no noise)')
    if num_steps == 1 and nfe not in (None, 1):
        raise SynthesisError(f'{name} is a single-step model: nfe does not apply to it '
                             f'(got {nfe})')
    if samples > 1 and not model.is_stochastic:
        raise SynthesisError(f'{name} is deterministic: more than one sample would only '
                             'repeat the same image')
    if nfe is None:
        return num_steps
    if int(nfe) != nfe or not 1 <= nfe <= num_steps:
        raise SynthesisError(f'nfe must be an integer between 1 and {num_steps} (the '
                             f'steps {name} was trained with), got {nfe!r}')
    return int(nfe)


def _check_source_channels(model, settings):
    """The slices' channels (``2 context_slices + 1``, docs/volumes.md) must
    be those the model reads, or ``SynthesisError``."""
    channels = context_channels(settings.slices.context_slices)
    expected = getattr(model, 'source_channels', channels)
    if channels != expected:
        raise SynthesisError(
            f'{type(model).__name__} reads sources of {expected} channels but the slice '
            f'settings have context_slices={settings.slices.context_slices} '
            f'({channels} channels): use the settings of the config it was trained with')


def _check_output_channels(model):
    """A model's predictions must be one slice or a stack of ``2m + 1``
    (multi-slice output, deterministic), or ``SynthesisError``."""
    channels = int(getattr(model, 'target_channels', 1))
    name = type(model).__name__
    if channels % 2 == 0:
        raise SynthesisError(f'{name} predicts {channels} channels: a stack of a slice and m '
                             'neighbours a side has 2m + 1')
    if channels > 1 and model.is_stochastic:
        raise SynthesisError(f'{name} predicts {channels}-slice stacks and draws noise: '
                             'multi-slice output is for deterministic models')


def _output_header(image, target):
    header = nib.Nifti1Header.from_header(image.header)
    header.set_data_dtype(np.float32)
    header.set_slope_inter(None, None)
    # The input's display window would hide a [0, 1] image in a viewer.
    header['cal_min'], header['cal_max'] = 0.0, 0.0
    header['descrip'] = f'fgsb synthetic {target}'[:79].encode()
    return header


def _model_device(model):
    parameter = next(iter(model.parameters()), None) if hasattr(model, 'parameters') else None
    return parameter.device if parameter is not None else torch.device('cpu')


def _check_finite(predictions, model, volume, first_slice):
    bad = sum(non_finite_count(p) for p in predictions)
    if bad:
        raise NonFiniteOutputError(
            f'{volume.name}: {type(model).__name__} predicted {bad} NaN/Inf values (slices '
            f'from {volume.layout.indices[first_slice]} along axis {volume.layout.axis}); '
            'its weights are not finite or it diverged, so there is no volume to keep')


def _draw_sources(layout, seed, samples, rho):
    """``sources(start, count, sample)``: what a batch's chain of one sample draws from.

    Independent: one CPU generator for the whole volume, so the same seed
    (and batch size) gives the same draws on any device. Consistent: one
    ``VolumeNoise`` a sample, over the volume's slice positions.
    """
    if rho is None:
        generator = torch.Generator().manual_seed(int(seed))
        return lambda start, count, sample: generator
    volumes = [VolumeNoise(rho, (int(seed), k)) for k in range(samples)]
    return lambda start, count, sample: volumes[sample].chain(
        layout.indices[start:start + count])


@torch.no_grad()
def _synthesise_slices(model, volume, nfe, samples, seed, batch_size, return_steps,
                       progress, precision, rho):
    """Mean, spread and per-step predictions of every slice, restored in-plane.

    The draws' mean and spread are taken a batch at a time, then each slice
    gets the ``overlap_average`` of its predictions: a multi-slice model
    (``2m + 1`` output channels, docs/volumes.md) averages its stacks, a
    one-slice model's channel passes as it is. A multi-slice model is
    deterministic (one draw, spread 0), so averaging the spread is exact.
    """
    device = _model_device(model)
    layout, slices = volume.layout, volume.slices
    sources = _draw_sources(layout, seed, samples, rho)
    # per batch, on [0, 1]: (B, C, S, S) means and spreads, (nfe, B, C, S, S) steps
    means, spreads, steps = [], [], []
    for start in range(0, len(slices), batch_size):
        x = torch.from_numpy(volume.network_inputs(start, start + batch_size)).to(device)
        draws = [run_in_precision(precision, device, model.translate, x, nfe=nfe,
                                  generator=sources(start, len(x), k), return_steps=True)
                 for k in range(samples)]
        _check_finite([d[0] for d in draws] + ([s for d in draws for s in d[1]]
                                               if return_steps else []),
                      model, volume, start)
        finals = np.stack([to_unit_range(d[0].float().cpu().numpy()) for d in draws])
        means.append(finals.mean(axis=0))
        spreads.append(finals.std(axis=0))  # divisor K, as sample_many
        if return_steps:
            steps.append(np.stack([[to_unit_range(s.float().cpu().numpy()) for s in d[1]]
                                   for d in draws]).mean(axis=0))
        if progress is not None:
            progress.update(len(x))

    def per_slice(stacks):
        return layout.restore(overlap_average(stacks, layout.indices))

    step_images = None
    if return_steps:
        step_images = np.stack([per_slice(step) for step in np.concatenate(steps, axis=1)])
    return (per_slice(np.concatenate(means)), per_slice(np.concatenate(spreads)),
            step_images)


def synthesize_volume(model, image, nfe=None, samples=1, seed=0, batch_size=16,
                      brain_mask=None, source_contrast=None, return_steps=False,
                      progress=False, settings=None, precision=None, sampling='independent',
                      slice_correlation=None):
    """Synthesise the target contrast of a whole source volume.

    Args:
        model: a model from ``load_model`` (its ``cfg`` gives the slice
            settings) with the translator interface (``num_steps``,
            ``is_stochastic``, ``translate``).
        image: the source volume: a NIfTI path or a nibabel image, any
            orientation (it is reoriented to RAS and back).
        nfe: generator evaluations a slice (bridge models; default: the
            trained ``T``).
        samples: ``K`` stochastic draws; the result is their mean and, for
            K > 1, their per-voxel standard deviation.
        seed: seeds every draw of ``z`` and the bridge noise; the same seed
            and batch size give the same volume (with consistent sampling a
            slice's draws do not depend on the batch size either).
        batch_size: slices a generator call.
        brain_mask: path, image or array on the input's grid; default: the
            head mask training uses for subjects without a brain mask.
        source_contrast: the input's contrast, checked against the model's
            source (a warning); default: guessed from the file name.
        return_steps: also return each step's prediction.
        progress: show a progress bar over the slices.
        settings: ``SynthesisSettings`` overriding those of ``model.cfg``.
        precision: a ``Precision`` (``fgsb.engine.precision.resolve_precision``);
            bf16 runs the model under autocast, the output is float32 either
            way. Default: fp32.
        sampling: ``'independent'`` (default): fresh ``z`` and bridge noise
            for every slice; ``'shared'``: one set of draws for all slices of
            the volume (each of the K samples its own); ``'correlated'``:
            draws AR(1)-correlated along the slices with neighbour
            correlation ``slice_correlation`` (docs/volumes.md).
        slice_correlation: ``rho`` in (0, 1), for ``'correlated'`` only.

    Returns:
        ``SynthesisResult`` on the ``OUTPUT_SCALE``. Raises ``VolumeError``
        naming the file for unusable input, ``SynthesisError`` for
        arguments that do not fit the model, ``NonFiniteOutputError``
        naming the input when the model predicts NaN/Inf.
    """
    nfe = check_sampling(model, nfe, samples, sampling, slice_correlation)
    rho = sampling_rho(sampling, slice_correlation)
    if int(batch_size) < 1:
        raise SynthesisError(f'batch_size must be >= 1, got {batch_size!r}')
    if settings is None:
        if getattr(model, 'cfg', None) is None:
            raise SynthesisError('the model has no cfg: load it with load_model or pass '
                                 'settings')
        settings = synthesis_settings(model.cfg)
    _check_source_channels(model, settings)
    _check_output_channels(model)
    if precision is None:
        precision = resolve_precision('fp32', 'cpu')
    volume = prepare_volume(image, settings, brain_mask)
    message = source_contrast_mismatch(settings.source, volume.path, source_contrast)
    if message:
        warnings.warn(message, UserWarning, stacklevel=2)

    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=len(volume.slices), unit='slice', desc=Path(volume.name).name,
                   leave=False)
    try:
        mean, spread, steps = _synthesise_slices(model, volume, nfe, samples, seed,
                                                 int(batch_size), return_steps, bar,
                                                 precision, rho)
    finally:
        if bar is not None:
            bar.close()

    return SynthesisResult(
        synthetic=volume.to_input_grid(mean),
        affine=np.asarray(volume.image.affine, dtype=np.float64),
        header=_output_header(volume.image, settings.target), brain_mask=volume.brain,
        source_range=volume.norm_range, nfe=nfe, samples=int(samples), seed=int(seed),
        uncertainty=volume.to_input_grid(spread) if samples > 1 else None,
        steps=[volume.to_input_grid(s) for s in steps] if return_steps else None,
        sampling=sampling, slice_correlation=slice_correlation)
