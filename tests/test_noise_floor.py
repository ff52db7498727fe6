"""The phantom's noise-free acquisition and the score floor it gives."""
import numpy as np
import pytest
from mmengine.config import Config

from fgsb.datasets import phantom
from fgsb.datasets.nifti_io import load_volume
from fgsb.datasets.phantom_oracle import noise_free_contrast
from fgsb.datasets.phantom_sites import SITES, site_of_subject
from fgsb.datasets.prepared_layout import volume_path
from fgsb.study.v2.noise_floor import noise_floor
from test_phantom import FAST

ROOT_CONFIG = 'configs/study_v2/pix2pix_t2_2subj.py'


@pytest.fixture(scope='module')
def v2_root(tmp_path_factory):
    return phantom.generate_phantom(tmp_path_factory.mktemp('floor') / 'root', num_subjects=2,
                                    num_test=1, seed=3, progress=False, downsample=FAST)


def test_full_noise_reproduces_the_stored_scan_and_zero_noise_removes_only_noise(v2_root):
    _, stored = load_volume(volume_path(v2_root / 'phantom_001', 't2'))
    _, brain = load_volume(volume_path(v2_root / 'phantom_001', 'brain_mask'))
    brain = brain > 0
    # the same draws: the regenerated scan is the stored one
    again = noise_free_contrast(v2_root, 'phantom_001', 't2', noise_scale=1.0)
    np.testing.assert_allclose(again, stored, atol=1e-5)
    clean = noise_free_contrast(v2_root, 'phantom_001', 't2')
    difference = (stored - clean)[brain]
    site = SITES[site_of_subject(1, ('guys', 'hh', 'iop'))]
    sigma = site.noise * float(clean[brain].mean())
    # thermal noise only: centred near 0 (Rician: slightly positive), spread of order sigma
    assert abs(difference.mean()) < sigma
    assert 0.2 * sigma < difference.std() < 1.5 * sigma


def test_v1_roots_are_refused(tmp_path):
    root = phantom.generate_phantom(tmp_path / 'v1', num_subjects=2, num_test=1,
                                    progress=False, downsample=FAST, version=1)
    with pytest.raises(ValueError, match='phantom version 2'):
        noise_free_contrast(root, 'phantom_001', 't2')


def test_the_floor_scores_the_test_subject_as_a_synthesis_is_scored(v2_root):
    cfg = Config.fromfile(ROOT_CONFIG)
    cfg.merge_from_dict({'test_dataloader.dataset.data_root': str(v2_root)})
    report = noise_floor(cfg, log=lambda *_: None)
    assert [s['subject'] for s in report['per_subject']] == ['phantom_001']
    mean = report['mean']
    assert set(mean) == {'PSNR', 'SSIM', 'NRMSE', 'through_plane_error'}
    # noise alone separates the two: high PSNR, small but non-zero errors
    assert mean['PSNR'] > 25 and 0 < mean['NRMSE'] < 0.2
    assert mean['through_plane_error'] > 0


def test_through_the_network_the_floor_loses_only_what_resampling_loses(v2_root):
    def floor(size, through_network):
        cfg = Config.fromfile(ROOT_CONFIG)
        cfg.merge_from_dict({'test_dataloader.dataset.data_root': str(v2_root),
                             'test_dataloader.dataset.size': size})
        return noise_floor(cfg, log=lambda *_: None, through_network=through_network)

    plain = floor(128, False)
    assert plain['through_network'] is False
    # size None: the padded side, no resize, so the trip changes nothing
    unresized = floor(None, True)
    assert unresized['through_network'] is True and unresized['network_size'] is None
    for name in ('PSNR', 'SSIM', 'NRMSE', 'through_plane_error'):
        assert unresized['mean'][name] == pytest.approx(plain['mean'][name], rel=1e-4), name
    # a small network size blurs the perfect output: every score gets worse
    small = floor(16, True)['mean']
    assert small['PSNR'] < plain['mean']['PSNR'] - 1
    assert small['through_plane_error'] > plain['mean']['through_plane_error']
