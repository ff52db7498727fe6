"""Phantom version 2: sites, sequences, biology, atrophy, head layers, the
version switch, selecting subjects by site, bad input."""
import dataclasses
import json
import math

import numpy as np
import pytest

from fgsb.datasets import phantom
from fgsb.datasets.nifti_io import load_volume
from fgsb.datasets.paired_slice_dataset import PairedSliceDataset
from fgsb.datasets.phantom_acquisition import acquire, block_mean, upsample_linear
from fgsb.datasets.phantom_atrophy import _signed_distance, _unit_shift, band_jacobian
from fgsb.datasets.phantom_biology import draw_biology, literature_table
from fgsb.datasets.phantom_lesions import fazekas_lesions
from fgsb.datasets.phantom_report import summarise
from fgsb.datasets.phantom_sequences import sequence_signal
from fgsb.datasets.phantom_sites import (DEFAULT_SITES, SITES, resolve_sites,
                                         site_of_subject, sites_at_field)
from fgsb.datasets.phantom_subject_v2 import generate_subject_v2
from fgsb.datasets.phantom_template import load_template
from fgsb.datasets.phantom_tissues import MODALITIES
from fgsb.datasets.prepared_layout import read_subject_record

from test_phantom import DETAIL, FAST, assert_one_line_usage_error


def noiseless(site):
    """The site with isotropic 1 mm voxels, no noise and no bias field."""
    return dataclasses.replace(site, noise=0.0, bias_std=0.0,
                               voxel_mm={m: (1.0, 1.0, 1.0) for m in MODALITIES})


# --- the site registry -------------------------------------------------------

def test_the_registry_has_the_ixi_sites_and_a_wmh_site_with_their_sequences():
    assert DEFAULT_SITES == ('guys', 'hh', 'iop')
    fields = {name: SITES[name].field_strength for name in SITES}
    assert fields == {'guys': 1.5, 'hh': 3.0, 'iop': 1.5, 'utrecht': 3.0}
    for site in SITES.values():
        assert set(site.sequences) == set(MODALITIES) == set(site.voxel_mm)
        assert site.sequences['t1']['kind'] == 'spoiled_gradient_echo'
        assert site.sequences['t2']['kind'] == site.sequences['pd']['kind'] == 'fast_spin_echo'
        assert site.sequences['flair']['kind'] == 'inversion_recovery'
        assert site.sequences['t2star']['te'] >= 20
    # IXI's published T1-FFE and dual-echo parameters of Guy's
    assert SITES['guys'].sequences['t1'] == dict(kind='spoiled_gradient_echo', tr=9.813,
                                                 te=4.603, flip_deg=8.0)
    assert SITES['guys'].sequences['t2']['tr'] == 8178.0
    assert SITES['utrecht'].voxel_mm['flair'][2] == 3.0


def test_sites_are_resolved_assigned_in_turn_and_filtered_by_field():
    assert [s.name for s in resolve_sites('hh, iop')] == ['hh', 'iop']
    assert [site_of_subject(i, ['a', 'b', 'c']) for i in range(5)] == ['a', 'b', 'c', 'a', 'b']
    assert sites_at_field(1.5) == ['guys', 'iop'] and sites_at_field(3) == ['hh']
    with pytest.raises(ValueError, match="unknown site 'mayo'; valid sites: guys, hh, iop"):
        resolve_sites(['guys', 'mayo'])
    with pytest.raises(ValueError, match='sites is empty; valid sites'):
        resolve_sites('')


# --- physics -----------------------------------------------------------------

def test_sequence_signals_match_hand_computed_values():
    fat = literature_table(1.5)['fat']
    # FSE keeps fat bright: its apparent T2 of 150 ms, 0.95 e^(-100/150) (TR >> T1)
    assert sequence_signal(fat, SITES['guys'].sequences['t2']) == pytest.approx(
        0.95 * math.exp(-100 / 150), rel=1e-6)
    wm = dict(t1=650., t2=80., t2s=65., pd=0.7)
    e1 = math.exp(-9.813 / 650)
    alpha = math.radians(8)
    expected = 0.7 * math.sin(alpha) * (1 - e1) / (1 - math.cos(alpha) * e1) * math.exp(
        -4.603 / 65)
    assert sequence_signal(wm, SITES['guys'].sequences['t1']) == pytest.approx(expected)
    assert expected == pytest.approx(0.05535, abs=1e-5)  # 0.7 * 0.13917 * 0.60985 * 0.93163
    with pytest.raises(ValueError, match='unknown sequence kind'):
        sequence_signal(wm, dict(kind='epi'))


def test_a_tissues_t1w_to_t2w_ratio_differs_between_sites():
    ratio = {}
    for name in ('guys', 'iop'):
        site = SITES[name]
        wm = literature_table(site.field_strength)['wm']
        ratio[name] = (sequence_signal(wm, site.sequences['t1'])
                       / sequence_signal(wm, site.sequences['t2']))
    assert abs(ratio['guys'] / ratio['iop'] - 1) >= 0.10


def test_lesion_t1_contrast_spans_nearly_isointense_to_dark():
    site = SITES['guys']
    wm = literature_table(1.5)['wm']

    def t1w_ratio(t1_factor):
        lesion = dict(wm, t1=wm['t1'] * t1_factor, t2=wm['t2'] * 2, t2s=wm['t2s'] * 1.6,
                      pd=wm['pd'] * 1.1)
        return (sequence_signal(lesion, site.sequences['t1'])
                / sequence_signal(wm, site.sequences['t1']))

    assert 0.95 < t1w_ratio(1.3) < 1.05
    assert t1w_ratio(2.4) < 0.75


def test_block_mean_and_linear_upsampling_by_hand():
    volume = np.array([1, 2, 3, 4, 5], np.float32)
    np.testing.assert_allclose(block_mean(volume, 2, 0), [1.5, 3.5, 5.0])
    # block centres at 0.5, 2.5, 4.5: linear in between, constant beyond
    np.testing.assert_allclose(upsample_linear(np.array([1.5, 3.5, 5.0], np.float32), 2, 5, 0),
                               [1.5, 2.0, 3.0, 3.875, 4.625])
    flat = np.full((6, 4, 9), 10.0, np.float32)
    out = acquire(flat, (1, 1, 3), 1.0, 0.0, 0.0, flat > 0, np.random.default_rng(0))
    np.testing.assert_array_equal(out, flat)


def test_atrophy_shift_has_the_controlled_jacobian_along_the_normal():
    region = np.zeros((60, 3, 3), bool)
    region[:20] = True  # S: x < 20; outside it the signed distance grows along +x
    shift = _unit_shift(_signed_distance(region, 1.0), 1.0, band_mm=10.0)
    amplitude = 4.0
    source = np.arange(60) - amplitude * shift[0, :, 1, 1]
    jacobian = np.diff(source)
    np.testing.assert_allclose(jacobian[22:28], band_jacobian(amplitude, 10.0), rtol=1e-5)
    np.testing.assert_allclose(jacobian[:18], 1.0, atol=1e-6)  # inside S: a shift
    np.testing.assert_allclose(jacobian[32:], 1.0, atol=1e-6)  # beyond the band
    assert jacobian.min() > 0  # never folds
    assert band_jacobian(amplitude, 10.0) == 1.4


def test_ageing_enlarges_the_ventricles_and_thins_the_cortex():
    from fgsb.datasets.phantom_atrophy import template_fields, ventricle_shift_mm
    from fgsb.datasets.phantom_subject_v2 import _brain_tissues
    template, fields = load_template(DETAIL), template_fields(DETAIL)
    assert ventricle_shift_mm(fields, 1.0) == 0.0
    assert 0 < ventricle_shift_mm(fields, 2.0) < ventricle_shift_mm(fields, 3.7) <= 9.0
    points = np.stack(np.unravel_index(np.arange(np.prod(template.shape)), template.shape))
    coords = points.astype(np.float32)
    volume = {}
    for age in (20.0, 80.0):
        biology = dataclasses.replace(draw_biology(np.random.default_rng(0)), age=age,
                                      fazekas=0)
        parts, _ = _brain_tissues(template, fields, biology, np.random.default_rng(0), coords)
        volume[age] = {t: float(parts[t].sum()) for t in ('wm', 'gm', 'csf')}
    young, old = volume[20.0], volume[80.0]
    # age 20 is the template itself; at 80 the ventricles are 3.3 times as large
    np.testing.assert_allclose(young['csf'], template.tissues[..., 2].sum(), rtol=1e-4)
    assert old['csf'] > 1.1 * young['csf']
    assert old['gm'] < young['gm'] and old['wm'] < young['wm']


# --- biology and lesions -----------------------------------------------------

def test_biology_is_drawn_within_its_ranges_and_deterministically():
    a = draw_biology(np.random.default_rng(3))
    b = draw_biology(np.random.default_rng(3))
    assert a == b
    ages = [draw_biology(np.random.default_rng(s)).age for s in range(40)]
    assert 20 <= min(ages) and max(ages) <= 86 and np.std(ages) > 10
    t2 = [draw_biology(np.random.default_rng(s)).factors['wm']['t2'] for s in range(200)]
    assert 0.03 < np.std(t2) < 0.06 and 0.9 <= min(t2) and max(t2) <= 1.1


def test_the_lesion_load_grows_with_the_fazekas_grade():
    template = load_template(DETAIL)
    loads = []
    for grade in range(4):
        focal, cap_mm, count = fazekas_lesions(np.random.default_rng(0), template, grade)
        loads.append((float(focal.sum()), cap_mm, count))
    assert loads[0] == (0.0, 0.0, 0)
    assert loads[1][1] < loads[2][1] < loads[3][1]
    assert loads[3][0] > loads[1][0]


# --- subjects ------------------------------------------------------------------

def test_subjects_are_deterministic_and_a_subject_is_the_same_person_at_each_site():
    a = generate_subject_v2(1, 5, SITES['guys'], head=True, downsample=FAST)
    b = generate_subject_v2(1, 5, SITES['guys'], head=True, downsample=FAST)
    for key in MODALITIES + ('brain_mask', 'lesion_mask'):
        np.testing.assert_array_equal(a[key], b[key])
    c = generate_subject_v2(1, 5, SITES['hh'], head=True, downsample=FAST)
    np.testing.assert_array_equal(a['brain_mask'], c['brain_mask'])
    assert a['biology'] == c['biology']
    assert not np.allclose(a['t1'], c['t1'])
    d = generate_subject_v2(2, 5, SITES['guys'], head=True, downsample=FAST)
    assert not np.array_equal(a['brain_mask'], d['brain_mask'])


def test_head_layers_give_the_signal_equations_values_and_the_mask_stays_the_brain():
    site = noiseless(SITES['guys'])
    s = generate_subject_v2(0, 0, site, head=True, downsample=DETAIL)
    stripped = generate_subject_v2(0, 0, site, head=False, downsample=DETAIL)
    np.testing.assert_array_equal(s['brain_mask'], stripped['brain_mask'])
    brain = s['brain_mask'] > 0
    checked = set()
    for tissue in ('marrow', 'muscle', 'fat', 'skin'):
        pure = s['tissues'][tissue] > 0.99
        if pure.sum() < 5:
            continue
        checked.add(tissue)
        assert not (pure & brain).any()
        for modality in MODALITIES:
            expected = s['amplitude'] * sequence_signal(s['tissue_table'][tissue],
                                                        site.sequences[modality])
            assert s[modality][pure].mean() == pytest.approx(expected, rel=0.01, abs=0.07), (
                tissue, modality)
    assert {'marrow', 'fat'} <= checked
    # fat is bright in T1w and T2w, as in unstripped IXI scans
    fat = s['tissues']['fat'] > 0.99
    wm = (s['tissues']['wm'] > 0.99) & brain
    assert s['t1'][fat].mean() > s['t1'][wm].mean() and s['t2'][fat].mean() > s['t2'][
        wm].mean()
    assert np.all(stripped['t1'][~brain] == 0) and (s['t1'][~brain] > 0).sum() > 100


# --- the root: versions, sites, records --------------------------------------

def test_a_v2_root_records_version_sites_and_each_subjects_site(tmp_path):
    root = phantom.generate_phantom(tmp_path / 'ph', num_subjects=4, num_test=1, seed=1,
                                    progress=False, downsample=FAST, sites='hh,iop',
                                    head=True)
    meta = json.loads((root / 'splits.json').read_text())['meta']
    assert meta == {'generator': 'fgsb-phantom', 'version': 2, 'seed': 1,
                    'sites': ['hh', 'iop'], 'head': True, 'num_subjects': 4, 'num_test': 1,
                    'downsample': FAST}
    sites = [read_subject_record(root / f'phantom_{i:03d}')['site'] for i in range(4)]
    assert sites == ['hh', 'iop', 'hh', 'iop']
    again = phantom.generate_phantom(tmp_path / 'again', num_subjects=4, num_test=1, seed=1,
                                     progress=False, downsample=FAST, sites='hh,iop',
                                     head=True)
    for name in MODALITIES + ('brain_mask',):
        np.testing.assert_array_equal(load_volume(root / 'phantom_002' / f'{name}.nii.gz')[1],
                                      load_volume(again / 'phantom_002' / f'{name}.nii.gz')[1])
    assert (read_subject_record(root / 'phantom_003')
            == read_subject_record(again / 'phantom_003'))


def test_version_1_stays_as_it_was_and_an_existing_v1_root_keeps_loading_as_v1(tmp_path):
    root = tmp_path / 'ph'
    phantom.generate_phantom(root, num_subjects=2, num_test=1, progress=False,
                             downsample=FAST, version=1)
    meta = json.loads((root / 'splits.json').read_text())['meta']
    assert meta == {'generator': 'fgsb-phantom', 'version': 1, 'seed': 0,
                    'field_strength': 1.5, 'num_subjects': 2, 'num_test': 1,
                    'max_lesions': 8, 'downsample': FAST}
    expected = phantom.generate_subject(1, seed=0, downsample=FAST)
    np.testing.assert_array_equal(load_volume(root / 'phantom_001' / 't2.nii.gz')[1],
                                  expected['t2'])
    assert not (root / 'phantom_001' / '.prepared.json').exists()
    stamp = (root / 'splits.json').stat().st_mtime_ns
    # a config without a version (as the shipped ones are) reuses the v1 root
    phantom.ensure_phantom(root, num_subjects=2, num_test=1, field_strength=1.5,
                           progress=False, downsample=FAST)
    assert (root / 'splits.json').stat().st_mtime_ns == stamp
    assert phantom.root_version(root) == 1
    fresh = phantom.ensure_phantom(tmp_path / 'new', num_subjects=2, num_test=1,
                                   field_strength=1.5, progress=False, downsample=FAST)
    meta = json.loads((fresh / 'splits.json').read_text())['meta']
    assert meta['version'] == 2 and meta['sites'] == ['guys', 'iop']


def test_the_phantom_dataset_writes_the_latest_version_unless_a_root_exists(tmp_path):
    from fgsb.datasets.phantom_slice_dataset import PhantomSliceDataset
    config = dict(num_subjects=2, num_test=1, seed=0, downsample=FAST)
    dataset = PhantomSliceDataset(tmp_path / 'new', phantom=config, size=None)
    assert phantom.root_version(dataset.data_root) == phantom.LATEST_VERSION == 2
    phantom.generate_phantom(tmp_path / 'old', progress=False, version=1, **config)
    PhantomSliceDataset(tmp_path / 'old', phantom=config, size=None)
    assert phantom.root_version(tmp_path / 'old') == 1


def test_the_dataset_selects_subjects_by_site(tmp_path):
    root = phantom.generate_phantom(tmp_path / 'ph', num_subjects=7, num_test=1,
                                    progress=False, downsample=FAST)
    # train: 000 guys, 001 hh, 002 iop, 003 guys, 004 hh, 005 iop
    assert PairedSliceDataset(root, sites=['hh'], size=None).subjects == [
        'phantom_001', 'phantom_004']
    both = PairedSliceDataset(root, sites=['guys', 'iop'], num_subjects=2, size=None)
    assert set(both.subjects) <= {'phantom_000', 'phantom_002', 'phantom_003', 'phantom_005'}
    with pytest.raises(ValueError, match=r"sites=\['utrecht'\]: no subject there; the "
                                         r'subjects are at guys, hh, iop'):
        PairedSliceDataset(root, sites=['utrecht'], size=None)
    with pytest.raises(ValueError, match='cannot be combined'):
        PairedSliceDataset(root, sites=['hh'], subjects=['phantom_001'], size=None)
    v1 = phantom.generate_phantom(tmp_path / 'v1', num_subjects=2, num_test=1,
                                  progress=False, downsample=FAST, version=1)
    with pytest.raises(ValueError, match='no site recorded'):
        PairedSliceDataset(v1, sites=['guys'], size=None)


def test_the_report_computes_the_cv_and_ratio_by_hand():
    def row(site, wm):
        means = {m: {'wm': wm, 'gm': 2.0, 'csf': 4.0} for m in MODALITIES}
        return {'site': site, 'means': means, 't1_t2_correlation_brain': -0.5,
                't1_t2_correlation_head': 0.1, 'lesion_volume_ml': 1.0}

    report = summarise([row('a', 1.0), row('a', 3.0), row('b', 2.0)])
    assert report['sites']['a']['cv']['t2']['wm'] == pytest.approx(0.5)  # std 1 / mean 2
    assert report['sites']['b']['cv']['t2']['wm'] == 0.0
    assert report['all']['cv']['t1']['gm'] == 0.0
    assert report['sites']['a']['t1_t2_ratio']['wm'] == 1.0
    # WM/GM ratios 0.5 and 1.5: std 0.5 / mean 1.0
    assert report['sites']['a']['cv_wm_gm_ratio']['pd'] == pytest.approx(0.5)


# --- bad input ---------------------------------------------------------------

@pytest.mark.parametrize('kwargs, message', [
    (dict(sites=['guys', 'nope']), "sites: unknown site 'nope'; valid sites: guys, hh"),
    (dict(sites=[]), 'sites is empty; valid sites: guys, hh, iop, utrecht'),
    (dict(version=1, head=True), 'head: version 1 has no head layers; valid versions with a '
                                 'head: 2'),
    (dict(version=3), 'version must be one of 1, 2, got 3'),
    (dict(max_lesions=4), 'max_lesions needs version 1'),
    (dict(sites=['hh'], field_strength=3), 'cannot be combined'),
])
def test_bad_phantom_parameters_are_named(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message.replace('(', r'\(')):
        phantom.generate_phantom(tmp_path / 'ph', num_subjects=2, num_test=1,
                                 progress=False, downsample=FAST, **kwargs)
    assert not (tmp_path / 'ph').exists()


@pytest.mark.parametrize('argv, message', [
    (['--sites', 'guys,mayo'], "--sites: unknown site 'mayo'; valid sites: guys, hh, iop"),
    (['--sites', ''], '--sites is empty; valid sites: guys, hh, iop, utrecht'),
    (['--head', '--version', '1'], '--head needs --version 2'),
    (['--version', '3'], "argument --version: invalid choice: 3 (choose from 1, 2)"),
    (['--max-lesions', '3'], '--max-lesions needs --version 1'),
])
def test_the_command_names_a_bad_v2_option_in_one_line(tmp_path, capsys, argv, message):
    assert_one_line_usage_error(tmp_path, capsys, argv, message)
