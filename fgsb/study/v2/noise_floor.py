"""The floor of the v2 study's scores: a perfect synthesis against a noisy scan.

Every v2 score compares a synthesis with the real scan, which carries the
scanner's noise; a synthesis that reproduced the noise-free anatomy exactly
would still score a finite PSNR and a non-zero through-plane error. On the
phantom that floor is measurable: the noise-free acquisition of each subject
(``fgsb.datasets.phantom_oracle``), put on the output scale with the real
scan's own normalisation range, reoriented and scored by ``brain_box_scores``
as ``native_brain_scores`` scores a synthesis. ``tools/noise_floor.py``
prints and writes it; docs/volumes.md reads the through-plane error
against it.

``through_network=True`` scores instead what a perfect *network* output
would give: the noise-free volume cut into the config's network-sized
slices and put back on the native grid by the synthesis' own slice
pipeline (``network_images``, ``SliceLayout.restore``, ``assemble``), so
the in-plane resampling to and from ``size`` pixels is all that is lost
besides the noise.
"""
import numpy as np

from fgsb.apis.brain_scores import brain_box_scores, on_output_scale
from fgsb.apis.reorientation import Reorientation
from fgsb.apis.synthesis_settings import synthesis_settings
from fgsb.apis.volume_input import brain_volume
from fgsb.datasets.batch_keys import BRAIN_MASK
from fgsb.datasets.nifti_io import load_volume
from fgsb.datasets.phantom_oracle import noise_free_contrast
from fgsb.datasets.prepared_layout import volume_path
from fgsb.datasets.slice_pipeline import network_images, normalisation_range, plan_slices
from fgsb.evaluation.intensity_scale import to_unit_range
from .native_scoring import SCORES, split_subjects


def network_round_trip(volume, brain, slices, norm_range):
    """``volume`` (training orientation) on the synthesis output scale after a
    trip through network-sized slices and back, as ``synthesize_volume``
    returns a network output: every slice holding brain normalised with
    ``norm_range``, padded and resized to ``slices.size``, restored, clipped
    at 0 and 0 outside ``brain``."""
    layout = plan_slices(brain, slices, min_brain_fraction=None, name='noise floor')
    restored = layout.restore(to_unit_range(network_images(volume, layout, norm_range)))
    return brain_volume(layout, restored, brain)


def floor_scores(root, subject, settings, through_network=False):
    """Brain-box scores of ``subject``'s noise-free target against its stored scan,
    along the training's slice axis of the reoriented volumes (as
    ``native_brain_scores`` scores a synthesis); with ``through_network`` the
    noise-free target first makes the trip through the network's slice size
    (``network_round_trip``)."""
    folder = root / subject
    target_path = volume_path(folder, settings.target)
    image, real = load_volume(target_path)
    _, brain = load_volume(volume_path(folder, BRAIN_MASK))
    brain = brain > 0
    # the real scan's own range for both, so that they differ by the noise alone
    lo, hi = normalisation_range(real, brain, settings.slices, str(target_path))
    clean = noise_free_contrast(root, subject, settings.target)
    orientation = Reorientation.from_affine(image.affine)
    scored, brain_t = (orientation.forward(v) for v in (on_output_scale(real, brain, lo, hi),
                                                        brain))
    if through_network:
        oracle = network_round_trip(orientation.forward(clean), brain_t, settings.slices,
                                    (lo, hi))
    else:
        oracle = orientation.forward(on_output_scale(clean, brain, lo, hi))
    brain = brain_t
    return brain_box_scores(oracle, scored, brain, axis=settings.slices.axis)


def noise_floor(cfg, split='test', log=print, through_network=False):
    """Per-subject floor scores of the config's ``split`` and their mean
    (``through_network``: of a perfect network output, ``floor_scores``)."""
    settings = synthesis_settings(cfg)
    root, subjects = split_subjects(cfg, split)
    per_subject = []
    for subject in subjects:
        scores = floor_scores(root, subject, settings, through_network)
        per_subject.append({'subject': subject, **scores})
        log(f'[floor] {subject}: PSNR {scores["PSNR"]:.2f} dB  SSIM {scores["SSIM"]:.4f}  '
            f'through-plane error {scores["through_plane_error"]:.4f}')
    mean = {k: float(np.mean([s[k] for s in per_subject])) for k in SCORES}
    return dict(split=split, target=settings.target, through_network=bool(through_network),
                network_size=settings.slices.size, per_subject=per_subject, mean=mean)
