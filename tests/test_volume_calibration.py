"""Uncertainty calibration and the scores of a synthesis against its reference."""
import math

import nibabel as nib
import numpy as np
import pytest

from fgsb.apis import SynthesisResult
from fgsb.apis.reference_volume import scores_against_reference
from fgsb.apis.synthesis_settings import SynthesisSettings
from fgsb.datasets.slice_pipeline import SliceSettings
from fgsb.evaluation.uncertainty_calibration import calibration_scores, spearman


def test_spearman_by_hand():
    # one swapped pair: 1 - 6 * 2 / (4 * 15)
    assert spearman([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)
    # ties take their average rank: ranks (1.5, 1.5, 3) and (1, 2, 3)
    assert spearman([1, 1, 2], [1, 2, 3]) == pytest.approx(1.5 / math.sqrt(1.5 * 2))
    assert math.isnan(spearman([1, 1, 1], [1, 2, 3]))


def test_calibration_by_hand():
    # 20 brain voxels, std 0..19; the two most uncertain are the worst
    std = np.arange(25, dtype=float)
    error = np.array([0.1] * 18 + [0.5, 0.9] + [5.0] * 5)
    std[20:] = 100.0  # outside the brain: must not count
    brain = np.arange(25) < 20
    reference = np.zeros(25)
    scores = calibration_scores(std, error, reference, brain)
    assert scores['error_most_uncertain'] == pytest.approx(0.7)
    assert scores['error_rest'] == pytest.approx(0.1)
    assert scores['most_uncertain_fraction'] == 0.1
    # centred ranks: std i - 10.5; error -1 (18 ties at 9.5), 8.5, 9.5
    assert scores['uncertainty_spearman'] == pytest.approx(math.sqrt(180.5 / 665))


def test_most_uncertain_tenth_of_thirty_voxels_is_three():
    std = np.arange(30, dtype=float)
    error = np.where(std >= 27, 1.0, 0.0)  # exactly the top three are wrong
    scores = calibration_scores(std, error, np.zeros(30), np.ones(30, dtype=bool))
    assert scores['error_most_uncertain'] == 1.0 and scores['error_rest'] == 0.0


def test_calibration_input_is_checked():
    with pytest.raises(ValueError, match='share one shape'):
        calibration_scores(np.zeros(3), np.zeros(3), np.zeros(3), np.ones(4))
    with pytest.raises(ValueError, match='brain mask is empty'):
        calibration_scores(np.zeros(3), np.zeros(3), np.zeros(3), np.zeros(3))


def test_scores_against_the_reference_itself(tmp_path):
    shape = (12, 14, 10)
    grid = np.stack(np.meshgrid(*[np.linspace(-1, 1, n) for n in shape], indexing='ij'))
    brain = (grid ** 2).sum(axis=0) < 0.8
    data = np.where(brain, 100 + 50 * np.sin(3 * grid[0]) * np.cos(2 * grid[2]), 0)
    affine = np.diag([1.0, 1.0, 1.0, 1.0])
    nib.save(nib.Nifti1Image(data.astype(np.float32), affine), str(tmp_path / 't2.nii.gz'))
    settings = SynthesisSettings('t1', 't2', SliceSettings(axis=2, min_brain_fraction=0.0))

    lo, hi = np.percentile(data[brain], [0.5, 99.5])
    synthetic = np.where(brain, np.clip((data - lo) / (hi - lo), 0, 1), 0).astype(np.float32)
    wrong = np.abs(np.sin(7 * grid[1])).astype(np.float32) * brain
    result = SynthesisResult(synthetic=synthetic + 0.1 * wrong,
                             affine=affine, header=None, brain_mask=brain,
                             source_range=(0, 1), nfe=1, samples=2, seed=0,
                             uncertainty=wrong)
    real, scores = scores_against_reference(result, tmp_path / 't2.nii.gz', settings)
    np.testing.assert_allclose(real, synthetic, atol=1e-5)
    for name in ('PSNR', 'PSNR_coronal', 'SSIM_sagittal', 'through_plane_error',
                 'uncertainty_spearman', 'error_most_uncertain', 'error_rest'):
        assert math.isfinite(scores[name]), name
    # the error is 0.1 x the uncertainty, on the reference's scale (float
    # rounding of the reference breaks the ties of the grid's symmetry)
    expected = calibration_scores(wrong, 0.1 * wrong, np.zeros(shape), brain)
    assert scores['uncertainty_spearman'] > 0.95
    for name in ('error_most_uncertain', 'error_rest'):
        assert scores[name] == pytest.approx(expected[name], abs=1e-4), name
    assert scores['error_most_uncertain'] > scores['error_rest']

    exact = SynthesisResult(synthetic=synthetic, affine=affine, header=None,
                            brain_mask=brain, source_range=(0, 1), nfe=1, samples=1, seed=0)
    _, scores = scores_against_reference(exact, tmp_path / 't2.nii.gz', settings)
    assert scores['through_plane_error'] == pytest.approx(0.0, abs=1e-5)
    assert scores['SSIM_coronal'] == pytest.approx(1.0, abs=1e-5)
    assert 'uncertainty_spearman' not in scores
