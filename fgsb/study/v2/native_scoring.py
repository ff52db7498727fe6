"""Score a trained checkpoint the way a user gets its output.

Each subject's source NIfTI goes through ``synthesize_volume`` (the path of
``tools/synthesize.py``: native grid, the model's slice pipeline forward and
back, ``samples`` draws averaged), and the result is scored against the
subject's real target inside the brain (``fgsb.apis.brain_scores``). The
brain mask is the subject's own ``brain_mask`` file, as a user with a brain
extraction would pass ``--brain-mask``.
"""
import time
from pathlib import Path

import numpy as np

from fgsb.apis.brain_scores import native_brain_scores
from fgsb.apis.model_loading import load_model
from fgsb.apis.synthesis_settings import synthesis_settings
from fgsb.apis.volume_synthesis import synthesize_volume
from fgsb.datasets.nifti_io import load_volume
from fgsb.datasets.prepared_layout import BRAIN_MASK, select_subjects, volume_path
from fgsb.engine.precision import resolve_precision
from fgsb.engine.run_config import innermost_dataset

SCORES = ('PSNR', 'SSIM', 'NRMSE', 'through_plane_error')


def split_subjects(cfg, split):
    """The data root and the subject ids of ``split`` ('test' or 'val') as the
    config's test / val data set selects them (no volume is read)."""
    loader = 'test_dataloader' if split == 'test' else 'val_dataloader'
    dataset = innermost_dataset(cfg[loader].dataset)
    root = Path(dataset['data_root'])
    keys = ('split', 'num_subjects', 'subjects', 'seed', 'val_subjects', 'sites')
    return root, select_subjects(root, **{k: dataset[k] for k in keys if k in dataset})


def score_checkpoint(cfg, checkpoint, split='test', samples=1, nfe=None, seed=0,
                     precision='auto', sampling='independent', log=print):
    """Per-subject native brain scores of ``checkpoint`` on ``split`` with
    ``samples`` draws of ``nfe`` steps (None: the trained number) in
    ``sampling`` mode (``synthesize_volume``'s), their
    means and the seconds spent: ``{'per_subject', 'mean', 'seconds', ...}``."""
    model = load_model(cfg, checkpoint, device='cpu')
    settings = synthesis_settings(cfg)
    chosen = resolve_precision(precision, 'cpu')
    root, subjects = split_subjects(cfg, split)
    if not subjects:
        raise ValueError(f'{cfg.filename}: split {split!r} selects no subject to score')
    start, per_subject = time.perf_counter(), []
    for subject in subjects:
        folder = root / subject
        brain_path = volume_path(folder, BRAIN_MASK)
        _, brain = load_volume(brain_path)
        result = synthesize_volume(model, volume_path(folder, settings.source),
                                   samples=samples, nfe=nfe, seed=seed, brain_mask=brain > 0,
                                   sampling=sampling,
                                   settings=settings, precision=chosen)
        target_path = volume_path(folder, settings.target)
        _, real = load_volume(target_path)
        scores = native_brain_scores(result, real, brain > 0, settings, str(target_path))
        per_subject.append({'subject': subject, **scores})
        log(f'[study] {subject}: PSNR {scores["PSNR"]:.2f} dB  SSIM {scores["SSIM"]:.4f}  '
            f'NRMSE {scores["NRMSE"]:.4f}')
    mean = {k: float(np.mean([s[k] for s in per_subject])) for k in SCORES}
    mean.update({f'{k}_subject_std': float(np.std([s[k] for s in per_subject]))
                 for k in SCORES})
    return dict(split=split, samples=int(samples), nfe=result.nfe, seed=int(seed),
                sampling=sampling,
                precision=chosen.name,
                checkpoint=str(checkpoint), per_subject=per_subject, mean=mean,
                seconds=round(time.perf_counter() - start, 1))
