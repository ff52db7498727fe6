"""The brain phantom (version 1 and the root): signal equations, determinism, contrasts,
lesions, the root layout. Version 2: test_phantom_v2.py."""
import importlib.util
import json
import math
import os
import stat
import threading
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from scipy import ndimage as ndi

from fgsb.datasets import phantom
from fgsb.datasets.nifti_io import load_volume
from fgsb.datasets.phantom_deformation import bspline_matrix, trilinear_sample
from fgsb.datasets.phantom_template import load_template
from fgsb.datasets.phantom_tissues import (MODALITIES, TISSUES, inversion_recovery,
                                           relaxation_table, spin_echo,
                                           spoiled_gradient_echo, tissue_signal)

FAST = 4    # 4 mm grid: determinism, layout
DETAIL = 2  # 2 mm grid: lesions of a few mm need it
TOOL = Path(__file__).resolve().parents[1] / 'tools' / 'make_phantom.py'


def load_tool():
    spec = importlib.util.spec_from_file_location('make_phantom', TOOL)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


@pytest.fixture(scope='module')
def lesion_subject():
    return phantom.generate_subject(3, seed=0, field_strength=1.5, num_lesions=8,
                                    downsample=DETAIL)


# --- physics ---------------------------------------------------------------

def test_signal_equations_match_hand_computed_values():
    # 0.7 (1 - e^-0.76923) e^-0.1875 = 0.7 * 0.53663 * 0.82903
    assert spin_echo(0.7, 650, 80, 500, 15) == pytest.approx(0.31142, abs=1e-5)
    # CSF in FLAIR: |1 - 2 e^-0.625 + e^-2.25| e^-0.06 = 0.034877 * 0.941765
    assert inversion_recovery(1.0, 4000, 2000, 9000, 2500, 120) == pytest.approx(0.032846,
                                                                                  abs=1e-5)
    # a 90 degree spoiled gradient echo is saturation recovery with T2* decay
    assert spoiled_gradient_echo(0.8, 1000, 85, 700, 25, 90) == pytest.approx(
        0.8 * (1 - math.exp(-0.7)) * math.exp(-25 / 85), rel=1e-9)


@pytest.mark.parametrize('field', [1.5, 3.0])
def test_pure_tissue_contrasts_are_in_the_known_order(field):
    table = relaxation_table(field)
    s = {m: {t: tissue_signal(table[t], m) for t in TISSUES} for m in MODALITIES}
    assert s['t1']['wm'] > s['t1']['lesion'] > s['t1']['gm'] > s['t1']['csf']
    assert 0.85 < s['t1']['lesion'] / s['t1']['wm'] < 1.0  # slightly dark in T1w
    assert s['t2']['csf'] > s['t2']['lesion'] > s['t2']['gm'] > s['t2']['wm']
    assert s['flair']['lesion'] > s['flair']['gm'] > s['flair']['wm'] > 4 * s['flair']['csf']
    assert s['pd']['gm'] > s['pd']['wm']
    assert s['t2star']['csf'] > s['t2star']['gm'] > s['t2star']['wm']


def test_bad_field_strength_and_modality_are_named():
    with pytest.raises(ValueError, match='field_strength'):
        relaxation_table(2.0)
    with pytest.raises(ValueError, match='dwi'):
        tissue_signal(relaxation_table(1.5)['wm'], 'dwi')


# --- building blocks -------------------------------------------------------

def test_bspline_weights_are_a_partition_of_unity():
    weights = bspline_matrix(50, 7.0)
    np.testing.assert_allclose(weights.sum(1), 1.0, atol=1e-6)
    # at a control point the cubic B-spline weights are 1/6, 4/6, 1/6
    np.testing.assert_allclose(weights[7][weights[7] > 0], [1 / 6, 4 / 6, 1 / 6], atol=1e-6)


def test_trilinear_sample_matches_map_coordinates():
    rng = np.random.default_rng(0)
    maps = rng.random((9, 10, 11, 3)).astype(np.float32)
    coords = (rng.random((3, 400)) * np.array([[11], [12], [13]]) - 1.5).astype(np.float32)
    out = trilinear_sample(maps, coords)
    inside = np.all((coords >= 0) & (coords < np.array([[8], [9], [10]])), axis=0)
    for k in range(3):
        ref = ndi.map_coordinates(maps[..., k], coords, order=1)
        np.testing.assert_allclose(out[inside, k], ref[inside], atol=1e-5)
    assert np.all(out[~inside] == 0)


# --- subjects --------------------------------------------------------------

def test_same_seed_and_index_give_identical_subjects():
    a = phantom.generate_subject(1, seed=5, downsample=FAST)
    b = phantom.generate_subject(1, seed=5, downsample=FAST)
    for key in MODALITIES + ('brain_mask', 'lesion_mask'):
        np.testing.assert_array_equal(a[key], b[key])


def test_subjects_and_seeds_differ():
    a = phantom.generate_subject(0, seed=0, downsample=FAST)
    b = phantom.generate_subject(1, seed=0, downsample=FAST)
    c = phantom.generate_subject(0, seed=1, downsample=FAST)
    assert not np.array_equal(a['brain_mask'], b['brain_mask'])  # anatomy differs
    assert not np.array_equal(a['brain_mask'], c['brain_mask'])
    assert not np.allclose(a['t1'], b['t1'])


def test_volumes_are_finite_float32_and_zero_outside_the_brain():
    s = phantom.generate_subject(2, seed=0, downsample=FAST)
    template = load_template(FAST)
    for key in MODALITIES:
        v = s[key]
        assert v.dtype == np.float32 and v.shape == template.shape
        assert np.isfinite(v).all() and v.min() >= 0
        assert np.all(v[s['brain_mask'] == 0] == 0) and v[s['brain_mask'] > 0].mean() > 10
    for key in ('brain_mask', 'lesion_mask'):
        assert s[key].dtype == np.uint8 and set(np.unique(s[key])) <= {0, 1}
    assert np.all(s['brain_mask'][s['lesion_mask'] > 0] == 1)
    np.testing.assert_allclose(np.diag(s['affine'])[:3], [FAST] * 3)
    # a 4 mm grid of the 197x233x189 MNI volume with a ~1.9 l brain
    assert 0.8 < s['brain_mask'].sum() * FAST ** 3 / 1.9e6 < 1.2


def test_tissue_contrast_order_in_generated_volumes(lesion_subject):
    s = lesion_subject
    pure = {t: s['tissues'][t] > 0.9 for t in ('wm', 'gm', 'csf')}
    med = {m: {t: float(np.median(s[m][pure[t]])) for t in pure} for m in MODALITIES}
    assert med['t1']['wm'] > med['t1']['gm'] > med['t1']['csf']
    assert med['t2']['csf'] > med['t2']['gm'] > med['t2']['wm']
    assert med['flair']['gm'] > med['flair']['wm'] > med['flair']['csf']
    assert med['t2star']['csf'] > med['t2star']['gm'] > med['t2star']['wm']


def test_lesions_are_bright_in_flair_and_t2_and_slightly_dark_in_t1(lesion_subject):
    s = lesion_subject
    lesion = s['lesion_mask'] > 0
    assert lesion.sum() > 20
    assert np.all(s['tissues']['lesion'][lesion] >= 0.5)
    # white matter right around the lesions, so the smooth bias field cancels
    ring = ndi.binary_dilation(lesion, iterations=2) & ~lesion & (s['tissues']['wm'] > 0.9)
    assert ring.sum() > 20
    ratio = {m: s[m][lesion].mean() / s[m][ring].mean() for m in ('flair', 't2', 't1')}
    assert ratio['flair'] > 1.5
    assert ratio['t2'] > 1.5
    assert 0.8 < ratio['t1'] < 0.98


def test_no_lesions_requested_gives_an_empty_mask():
    s = phantom.generate_subject(3, seed=0, num_lesions=0, downsample=FAST)
    assert s['num_lesions'] == 0 and s['lesion_mask'].sum() == 0
    assert s['tissues']['lesion'].max() == 0


def test_three_tesla_keeps_the_anatomy_and_changes_the_contrast():
    a = phantom.generate_subject(0, seed=0, field_strength=1.5, downsample=FAST)
    b = phantom.generate_subject(0, seed=0, field_strength=3, downsample=FAST)
    np.testing.assert_array_equal(a['brain_mask'], b['brain_mask'])
    np.testing.assert_array_equal(a['lesion_mask'], b['lesion_mask'])
    wm = a['tissues']['wm'] > 0.9
    # T1 is longer at 3 T, so the short-TR T1w signal of WM drops (~0.31 -> ~0.25)
    assert np.median(b['t1'][wm]) < 0.9 * np.median(a['t1'][wm])
    for key in MODALITIES:
        assert not np.allclose(a[key], b[key])


def test_generate_subject_rejects_bad_arguments():
    with pytest.raises(ValueError, match='field_strength'):
        phantom.generate_subject(0, field_strength=7, downsample=FAST)
    with pytest.raises(ValueError, match='num_lesions'):
        phantom.generate_subject(0, num_lesions=-1, downsample=FAST)


# --- the prepared root -----------------------------------------------------

def test_generated_root_has_the_prepared_layout(tmp_path):
    root = phantom.generate_phantom(tmp_path / 'ph', num_subjects=3, seed=2, num_test=1,
                                    progress=False, downsample=FAST, version=1)
    splits = json.loads((root / 'splits.json').read_text())
    assert splits['train'] == ['phantom_000', 'phantom_001']
    assert splits['test'] == ['phantom_002']
    assert splits['meta']['seed'] == 2 and splits['meta']['field_strength'] == 1.5
    assert splits['meta']['num_subjects'] == 3
    expected = phantom.generate_subject(2, seed=2, downsample=FAST)
    for name in MODALITIES + ('brain_mask', 'lesion_mask'):
        path = root / 'phantom_002' / f'{name}.nii.gz'
        image, data = load_volume(path, allow_empty=name == 'lesion_mask')
        assert image.get_data_dtype() == (np.uint8 if 'mask' in name else np.float32)
        np.testing.assert_allclose(image.affine, expected['affine'])
        np.testing.assert_array_equal(data, expected[name])
    assert sorted(p.name for p in root.iterdir()) == [
        'phantom_000', 'phantom_001', 'phantom_002', 'splits.json']  # no temporaries left


def test_ensure_phantom_reuses_a_matching_root_and_rebuilds_a_different_one(tmp_path):
    out = tmp_path / 'ph'
    phantom.ensure_phantom(out, num_subjects=2, num_test=1, progress=False, downsample=FAST)
    splits = out / 'splits.json'
    first = splits.stat().st_mtime_ns
    phantom.ensure_phantom(out, num_subjects=2, num_test=1, progress=False, downsample=FAST)
    assert splits.stat().st_mtime_ns == first
    phantom.ensure_phantom(out, num_subjects=2, num_test=1, seed=9, progress=False,
                           downsample=FAST)
    assert json.loads(splits.read_text())['meta']['seed'] == 9


def test_ensure_phantom_generates_once_for_concurrent_callers(tmp_path, monkeypatch):
    calls = []
    real = phantom.generate_phantom

    def counting(*args, **kwargs):
        calls.append(1)
        time.sleep(0.3)  # without the lock, the other callers would start meanwhile
        return real(*args, **kwargs)

    monkeypatch.setattr(phantom, 'generate_phantom', counting)
    threads = [threading.Thread(target=phantom.ensure_phantom, args=(tmp_path / 'ph',),
                                kwargs=dict(num_subjects=2, num_test=1, progress=False,
                                            downsample=FAST)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert (tmp_path / 'ph' / 'splits.json').is_file()


def test_a_root_that_is_not_a_phantom_is_never_overwritten(tmp_path):
    root = tmp_path / 'real'
    root.mkdir()
    (root / 'splits.json').write_text(json.dumps({'train': ['sub1'], 'test': []}))
    with pytest.raises(ValueError, match='not a phantom'):
        phantom.ensure_phantom(root, num_subjects=2, num_test=1, progress=False,
                               downsample=FAST)


def test_bad_root_arguments_are_named(tmp_path):
    with pytest.raises(ValueError, match='num_test'):
        phantom.generate_phantom(tmp_path, num_subjects=2, num_test=2, progress=False)
    with pytest.raises(ValueError, match='field_strength'):
        phantom.generate_phantom(tmp_path, field_strength=2, progress=False, version=1)


def test_montage_is_written(tmp_path):
    root = phantom.generate_phantom(tmp_path / 'ph', num_subjects=2, num_test=1,
                                    progress=False, downsample=FAST)
    png = tmp_path / 'montage.png'
    load_tool().save_montage(root, png)
    assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert nib.load(str(root / 'phantom_000' / 't1.nii.gz')).shape == load_template(
        FAST).shape
    assert sorted(p.name for p in tmp_path.iterdir()) == ['montage.png', 'ph']


# --- fixed output, safe writing, the command ---------------------------------

# generate_subject(0, seed=0, downsample=FAST) at four voxels deep in the brain.
# A change of the generator changes them by far more than a quantum (1/8 a.u.),
# which float rounding on another CPU can at most move them by.
PINNED_VOXELS = [(8, 20, 18), (20, 39, 18), (29, 22, 24), (41, 30, 24)]
PINNED_VALUES = {'t1': [280.75, 298.5, 292.25, 299.5],
                 't2': [292.375, 235.375, 283.625, 216.125],
                 'pd': [750.0, 626.0, 643.125, 636.125],
                 'flair': [161.375, 138.375, 145.75, 164.0],
                 't2star': [188.375, 178.25, 180.625, 165.375]}


def test_the_volumes_of_a_seed_stay_fixed():
    # version 1 must stay reproducible: a change of the generator is a new version
    s = phantom.generate_subject(0, seed=0, downsample=FAST)
    for modality, values in PINNED_VALUES.items():
        got = [float(s[modality][voxel]) for voxel in PINNED_VOXELS]
        np.testing.assert_allclose(got, values, atol=0.125, err_msg=modality)
    assert abs(int(s['brain_mask'].sum()) - 30302) <= 3
    assert abs(int(s['lesion_mask'].sum()) - 12) <= 1


def test_a_subject_folder_with_a_users_file_is_never_replaced(tmp_path):
    root = tmp_path / 'ph'
    (root / 'phantom_000').mkdir(parents=True)
    (root / 'phantom_000' / 'mydata.txt').write_text('precious')
    with pytest.raises(phantom.PhantomRootError, match=r'phantom_000 holds files the phantom '
                                                       r'did not write \(mydata.txt\)'):
        phantom.generate_phantom(root, num_subjects=2, num_test=1, progress=False,
                                 downsample=FAST)
    assert (root / 'phantom_000' / 'mydata.txt').read_text() == 'precious'
    assert sorted(p.name for p in root.iterdir()) == ['phantom_000']  # refused before work
    (root / 'phantom_001').write_text('a file, not a folder')
    (root / 'phantom_000' / 'mydata.txt').unlink()
    with pytest.raises(phantom.PhantomRootError, match='phantom_001 is not a folder'):
        phantom.generate_phantom(root, num_subjects=2, num_test=1, progress=False,
                                 downsample=FAST)


def test_an_interrupted_phantom_is_completed_and_its_temporaries_removed(tmp_path):
    root = tmp_path / 'ph'
    (root / 'phantom_000').mkdir(parents=True)
    (root / 'phantom_000' / 't1.nii.gz').write_bytes(b'half a run ago')
    # what a SIGKILL leaves: the temporary folder of the subject being written
    stale = root / '.phantom_001.0badc0de.fgsb-tmp'
    stale.mkdir()
    (stale / 't1.nii.gz').write_bytes(b'x' * 1000)
    phantom.generate_phantom(root, num_subjects=2, num_test=1, progress=False,
                             downsample=FAST)
    assert sorted(p.name for p in root.iterdir()) == ['phantom_000', 'phantom_001',
                                                      'splits.json']
    assert load_volume(root / 'phantom_000' / 't1.nii.gz')[1].any()


def test_a_phantom_root_gets_the_permissions_of_the_umask(tmp_path):
    saved = os.umask(0o027)
    try:
        root = phantom.generate_phantom(tmp_path / 'ph', num_subjects=2, num_test=1,
                                        progress=False, downsample=FAST)
    finally:
        os.umask(saved)
    assert stat.S_IMODE((root / 'phantom_000').stat().st_mode) == 0o750
    for path in (root / 'splits.json', root / 'phantom_000' / 'flair.nii.gz'):
        assert stat.S_IMODE(path.stat().st_mode) == 0o640


@pytest.mark.parametrize('argv, message', [
    (['--subjects', '0'], '--subjects must be at least 1, got 0'),
    (['--seed', '-1'], '--seed must be at least 0, got -1'),
    (['--max-lesions', '-2'], '--max-lesions must be at least 0, got -2'),
    (['--subjects', '4', '--test-subjects', '4'], '--test-subjects 4 leaves no training'),
])
def test_the_command_names_a_bad_option_in_one_line(tmp_path, capsys, argv, message):
    assert_one_line_usage_error(tmp_path, capsys, argv, message)


def assert_one_line_usage_error(tmp_path, capsys, argv, message):
    """make_phantom with ``argv`` exits 2 with ``message`` in one line, writing nothing."""
    with pytest.raises(SystemExit) as exit_info:
        load_tool().main(['--out', str(tmp_path / 'ph'), *argv])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert message in error and 'Traceback' not in error
    assert not (tmp_path / 'ph').exists()


def test_the_command_refuses_a_users_folder_in_one_line(tmp_path, capsys):
    (tmp_path / 'ph' / 'phantom_000').mkdir(parents=True)
    (tmp_path / 'ph' / 'phantom_000' / 'mydata.txt').write_text('precious')
    assert load_tool().main(['--out', str(tmp_path / 'ph')]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count('\n') == 0 and 'mydata.txt' in error and 'phantom_000' in error
    assert (tmp_path / 'ph' / 'phantom_000' / 'mydata.txt').read_text() == 'precious'
