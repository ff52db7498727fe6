"""Synthesise the missing contrast of a whole volume.

The product's everyday use: a T1w volume in, the model's target contrast out,
on the input's voxel grid. Every slice that holds brain goes through the
model in batches (NFE generator calls each for a bridge model, METHOD.md 4);
slices and voxels outside the brain mask are background.

Output intensity scale (``OUTPUT_SCALE``): [0, 1], the model's [-1, 1]
mapped linearly, i.e. 0 and 1 are the target contrast's robust 0.5th and
99.5th percentiles inside the brain (the training normalisation), and the
background is 0. The uncertainty map is the per-voxel standard deviation of
the samples on the same scale.
"""
import warnings
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Optional

import nibabel as nib
import numpy as np
import torch

from fgsb.datasets.nifti_io import VolumeError, check_volume, load_volume
from fgsb.datasets.slice_preprocessing import estimate_brain_mask
from fgsb.evaluation.volume_synthesis_metric import to_unit_range
from .source_contrast import source_contrast_mismatch
from .synthesis_settings import synthesis_settings
from .volume_slicing import Reorientation, network_slices, normalisation_range

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
    input's, set up for float32 output.
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


def check_sampling(model, nfe=None, samples=1):
    """The number of generator evaluations a slice gets, or ``SynthesisError``.

    A bridge model (one with a ``sampler``) runs ``nfe`` steps, at most the
    ``T`` its time embedding was trained with; a single-step model (Pix2Pix)
    is deterministic, so ``nfe`` and ``samples`` do not apply to it.
    """
    if int(samples) != samples or samples < 1:
        raise SynthesisError(f'samples must be a positive integer, got {samples!r}')
    sampler = getattr(model, 'sampler', None)
    name = type(model).__name__
    if sampler is None:
        if nfe not in (None, 1):
            raise SynthesisError(f'{name} is a single-step model: nfe does not apply to it '
                                 f'(got {nfe})')
        if samples > 1:
            raise SynthesisError(f'{name} is deterministic: more than one sample would only '
                                 'repeat the same image')
        return 1
    if nfe is None:
        return int(sampler.num_steps)
    if int(nfe) != nfe or not 1 <= nfe <= sampler.num_steps:
        raise SynthesisError(f'nfe must be an integer between 1 and {sampler.num_steps} (the '
                             f'steps {name} was trained with), got {nfe!r}')
    return int(nfe)


def _read_input(image):
    """``(image, data, path)`` of a path or a nibabel image (``path`` None when
    it has no file), with load_volume's checks."""
    if isinstance(image, (str, PathLike)):
        image_obj, data = load_volume(image)
        return image_obj, data, str(image)
    path = image.get_filename()
    name = path or '<in-memory image>'
    data = check_volume(np.asarray(image.dataobj, dtype=np.float32), name)
    return image, data, path


def _read_brain_mask(mask, image, shape, name):
    """A boolean mask on the input's grid from a path, an image or an array."""
    if isinstance(mask, (str, PathLike)):
        mask_image, data = load_volume(mask)
        if data.shape != shape or not np.allclose(mask_image.affine, image.affine, atol=1e-3):
            raise VolumeError(f'{mask}: the brain mask (shape {data.shape}) is not on the grid '
                              f'of {name} (shape {shape}, same affine needed)')
        return data > 0.5
    data = np.asarray(mask.dataobj if hasattr(mask, 'dataobj') else mask)
    if data.shape != shape:
        raise VolumeError(f'brain mask of shape {data.shape} for {name} of shape {shape}')
    return data > 0.5


def _output_header(image, target):
    header = nib.Nifti1Header.from_header(image.header)
    header.set_data_dtype(np.float32)
    header.set_slope_inter(None, None)
    # The input's display window would hide a [0, 1] image in a viewer.
    header['cal_min'], header['cal_max'] = 0.0, 0.0
    header['descrip'] = f'fgsb synthetic {target}'[:79].encode()
    return header


def _one_draw(model, x, nfe, generator):
    """``(prediction, [prediction of each step])`` for a batch of network inputs."""
    sampler = getattr(model, 'sampler', None)
    if sampler is None:
        prediction = model.translate(x)
        return prediction, [prediction]
    return sampler.sample(model.generator, x, num_steps=nfe, generator=generator,
                          return_intermediates=True)


def _model_device(model):
    parameter = next(iter(model.parameters()), None) if hasattr(model, 'parameters') else None
    return parameter.device if parameter is not None else torch.device('cpu')


@torch.no_grad()
def _synthesise_slices(model, slices, layout, nfe, samples, seed, batch_size, return_steps,
                       progress):
    """Mean, spread and per-step predictions of every slice, restored in-plane."""
    device = _model_device(model)
    # One CPU generator for the whole volume: the same seed (and batch size)
    # gives the same draws on any device.
    generator = torch.Generator().manual_seed(int(seed))
    means, spreads, steps = [], [], []
    for start in range(0, len(slices), batch_size):
        x = torch.from_numpy(slices[start:start + batch_size, None]).to(device)
        draws = [_one_draw(model, x, nfe, generator) for _ in range(samples)]
        finals = np.stack([to_unit_range(d[0][:, 0].float().cpu().numpy()) for d in draws])
        means.append(layout.restore(finals.mean(axis=0)))
        spreads.append(layout.restore(finals.std(axis=0)))  # divisor K, as sample_many
        if return_steps:
            per_step = np.stack([[to_unit_range(s[:, 0].float().cpu().numpy()) for s in d[1]]
                                 for d in draws]).mean(axis=0)
            steps.append(np.stack([layout.restore(s) for s in per_step]))
        if progress is not None:
            progress.update(len(x))
    step_stacks = np.concatenate(steps, axis=1) if return_steps else None
    return np.concatenate(means), np.concatenate(spreads), step_stacks


def synthesize_volume(model, image, nfe=None, samples=1, seed=0, batch_size=16,
                      brain_mask=None, source_contrast=None, return_steps=False,
                      progress=False, settings=None):
    """Synthesise the target contrast of a whole source volume.

    Args:
        model: a model from ``load_model`` (its ``cfg`` gives the slice
            settings) with ``translate`` or a bridge ``sampler``.
        image: the source volume: a NIfTI path or a nibabel image, any
            orientation (it is reoriented to RAS and back).
        nfe: generator evaluations a slice (bridge models; default: the
            trained ``T``).
        samples: ``K`` stochastic draws; the result is their mean and, for
            K > 1, their per-voxel standard deviation.
        seed: seeds every draw of ``z`` and the bridge noise; the same seed
            and batch size give the same volume.
        batch_size: slices a generator call.
        brain_mask: path, image or array on the input's grid; default: the
            estimate training uses for subjects without a mask.
        source_contrast: the input's contrast, checked against the model's
            source (a warning); default: guessed from the file name.
        return_steps: also return each step's prediction.
        progress: show a progress bar over the slices.
        settings: ``SynthesisSettings`` overriding those of ``model.cfg``.

    Returns:
        ``SynthesisResult`` on the ``OUTPUT_SCALE``. Raises ``VolumeError``
        naming the file for unusable input, ``SynthesisError`` for
        arguments that do not fit the model.
    """
    nfe = check_sampling(model, nfe, samples)
    if int(batch_size) < 1:
        raise SynthesisError(f'batch_size must be >= 1, got {batch_size!r}')
    if settings is None:
        if getattr(model, 'cfg', None) is None:
            raise SynthesisError('the model has no cfg: load it with load_model or pass '
                                 'settings')
        settings = synthesis_settings(model.cfg)
    image, data, path = _read_input(image)
    name = path or '<in-memory image>'
    message = source_contrast_mismatch(settings.source, path, source_contrast)
    if message:
        warnings.warn(message, UserWarning, stacklevel=2)
    if brain_mask is None:
        brain = estimate_brain_mask(data, settings.slices.mask_threshold)
    else:
        brain = _read_brain_mask(brain_mask, image, data.shape, name)
    if not brain.any():
        raise VolumeError(f'{name}: the brain mask is empty, nothing to synthesise')

    orientation = Reorientation.from_affine(image.affine)
    volume, brain_t = orientation.forward(data), orientation.forward(brain)
    norm_range = normalisation_range(volume, brain_t, settings.slices, name)
    slices, layout = network_slices(volume, brain_t, settings.slices, norm_range)

    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=len(slices), unit='slice', desc=Path(name).name, leave=False)
    try:
        mean, spread, steps = _synthesise_slices(model, slices, layout, nfe, samples, seed,
                                                 int(batch_size), return_steps, bar)
    finally:
        if bar is not None:
            bar.close()

    def to_input_grid(restored):
        volume_t = np.where(brain_t, np.clip(layout.assemble(restored), 0.0, None), 0.0)
        return orientation.backward(volume_t.astype(np.float32))

    return SynthesisResult(
        synthetic=to_input_grid(mean), affine=np.asarray(image.affine, dtype=np.float64),
        header=_output_header(image, settings.target), brain_mask=brain,
        source_range=norm_range, nfe=nfe, samples=int(samples), seed=int(seed),
        uncertainty=to_input_grid(spread) if samples > 1 else None,
        steps=[to_input_grid(s) for s in steps] if return_steps else None)
