"""Whole-volume synthesis: tools/synthesize.py and fgsb.apis end to end.

A tiny FGSB checkpoint is trained inside the module (4 iterations, 32 px,
ngf 8) on a tiny phantom; geometry is checked exactly with an identity
"model", whose output must be the normalised input voxel for voxel.
"""
import gzip
import os
import runpy
import subprocess
import shutil
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch
from mmengine.config import Config

from fgsb.apis import (ModelLoadError, SynthesisError, check_sampling, load_model,
                       prepare_volume, reference_scores, synthesis_settings,
                       synthesize_volume)
from fgsb.apis.checkpoint_record import recorded_dataset_meta
from fgsb.datasets.nifti_io import VolumeError
from fgsb.datasets.phantom import ensure_phantom
from fgsb.datasets.slice_preprocessing import normalise
from fgsb.datasets.volume_cache import read_subject_slices
from fgsb.engine.checkpoint_loading import read_checkpoint
from fgsb.evaluation import NonFiniteOutputError
from fgsb.registry import MODELS

ROOT = Path(__file__).resolve().parents[1]
FGSB_CONFIG = ROOT / 'configs/fgsb/fgsb_phantom_2subj.py'
PIX2PIX_CONFIG = ROOT / 'configs/pix2pix/pix2pix_phantom_2subj.py'
# version 1: the expectations of these tests were set on it (version 2: test_phantom_v2.py)
TINY_PHANTOM = dict(num_subjects=4, num_test=2, downsample=4, seed=0, version=1)
SUBJECT = 'phantom_002'  # a test subject: never seen in training


@pytest.fixture(scope='module')
def phantom(tmp_path_factory):
    return ensure_phantom(tmp_path_factory.mktemp('phantom') / 'root', progress=False,
                          **TINY_PHANTOM)


@pytest.fixture(scope='module')
def trained(phantom, tmp_path_factory):
    """``(config, checkpoint)`` of FGSB trained 4 iterations at 32 px."""
    work_dir = tmp_path_factory.mktemp('work')
    train = 'train_dataloader.dataset.dataset'
    options = [
        f'work_dir={work_dir}', 'train_cfg._delete_=True', 'train_cfg.type=IterBasedTrainLoop',
        'train_cfg.max_iters=4', 'val_cfg=None', 'val_dataloader=None', 'val_evaluator=None',
        'default_hooks.checkpoint.by_epoch=False', 'default_hooks.checkpoint.interval=4',
        'default_hooks.logger.interval=4', 'custom_hooks=[]',
        'vis_backends=[dict(type="LocalVisBackend")]',
        f'{train}.data_root={phantom}', f'{train}.size=32',
        f'test_dataloader.dataset.data_root={phantom}', 'test_dataloader.dataset.size=32',
        'model.generator.ngf=8', 'model.generator.n_blocks=2',
        'model.nce_layers=[0,4,8,10,11]', 'model.num_patches=16',
        'model.discriminator.ndf=8', 'model.mi_estimator.ndf=8']
    for loader in (train, 'test_dataloader.dataset'):
        options += [f'{loader}.phantom.{k}={v}' for k, v in TINY_PHANTOM.items()]
    argv = sys.argv
    sys.argv = ['tools/train.py', str(FGSB_CONFIG), '--cfg-options', *options]
    try:
        runpy.run_path(str(ROOT / 'tools/train.py'), run_name='__main__')
    finally:
        sys.argv = argv
    return work_dir / FGSB_CONFIG.name, work_dir / 'iter_4.pth'


@pytest.fixture(scope='module')
def model(trained):
    return load_model(*trained, device='cpu')


@pytest.fixture(scope='module')
def cli():
    return runpy.run_path(str(ROOT / 'tools/synthesize.py'), run_name='synthesize')['main']


def subject_file(phantom, name, subject=SUBJECT):
    return phantom / subject / f'{name}.nii.gz'


class IdentityTranslator(torch.nn.Module):
    """A 'model' that returns its input: synthesis must then give back the
    normalised source on the input's grid, which pins down the geometry."""
    num_steps = 1
    is_stochastic = False

    def __init__(self, size=None):
        super().__init__()
        self.cfg = dict(test_dataloader=dict(dataset=dict(source='t1', target='t2',
                                                          size=size)))

    def translate(self, source, nfe=None, generator=None, return_steps=False):
        return (source, [source]) if return_steps else source


def reoriented_copy(path, out):
    """The same volume stored in another orientation: voxel axes permuted
    to (S, R, A) order with the first two reversed, i.e.
    ``new[i, j, k] = old[n_x - 1 - j, k, n_z - 1 - i]``, and the matching affine."""
    image = nib.load(str(path))
    data = np.asarray(image.dataobj)
    n_x, _, n_z = data.shape
    new = np.flip(np.transpose(data, (2, 0, 1)), axis=(0, 1))
    new_to_old = np.array([[0, -1, 0, n_x - 1], [0, 0, 1, 0], [-1, 0, 0, n_z - 1],
                           [0, 0, 0, 1]], dtype=float)
    nib.save(nib.Nifti1Image(np.ascontiguousarray(new), image.affine @ new_to_old), str(out))
    return out


# --------------------------------------------------------------- end to end

def test_cli_end_to_end_with_uncertainty_and_reference(phantom, trained, cli, tmp_path,
                                                       capsys):
    source = subject_file(phantom, 't1')
    out, std = tmp_path / 'out' / 't2_syn.nii.gz', tmp_path / 'out' / 't2_std.nii.gz'
    cli([*map(str, trained), '--input', str(source), '--output', str(out), '--samples', '4',
         '--uncertainty', str(std), '--seed', '3', '--save-steps', '--device', 'cpu',
         '--reference', str(subject_file(phantom, 't2'))])
    printed = capsys.readouterr().out
    assert 'PSNR' in printed and 'SSIM' in printed and 'NRMSE' in printed
    assert 'precision: ' in printed  # which precision ran, and why

    source_image, output, spread = (nib.load(str(p)) for p in (source, out, std))
    for image in (output, spread):
        assert image.shape == source_image.shape
        np.testing.assert_array_equal(image.affine, source_image.affine)
        assert image.get_data_dtype() == np.float32
    synthetic, uncertainty = output.get_fdata(), spread.get_fdata()
    brain = nib.load(str(subject_file(phantom, 'brain_mask'))).get_fdata() > 0
    source_data = source_image.get_fdata()
    # background stays background: nothing outside the head is synthesised
    assert np.all(synthetic[source_data == 0] == 0)
    assert np.all(uncertainty[source_data == 0] == 0)
    assert synthetic.min() >= 0 and synthetic.max() <= 1
    assert np.count_nonzero(synthetic[brain]) > 0.9 * brain.sum()
    assert uncertainty[brain].mean() > 0
    steps = sorted(out.parent.glob('t2_syn_step*.nii.gz'))
    assert [p.name for p in steps] == [f't2_syn_step{j}.nii.gz' for j in range(1, 6)]
    assert sorted(p.name for p in out.parent.iterdir()) == sorted(
        ['t2_syn.nii.gz', 't2_std.nii.gz', *[p.name for p in steps]])


def test_cli_consistent_sampling_with_calibration_and_report(phantom, trained, cli,
                                                            tmp_path, capsys):
    out, report = tmp_path / 't2_syn.nii.gz', tmp_path / 'report.html'
    cli([*map(str, trained), '--input', str(subject_file(phantom, 't1')), '--output',
         str(out), '--samples', '3', '--sampling', 'shared', '--device', 'cpu',
         '--reference', str(subject_file(phantom, 't2')), '--report', str(report)])
    printed = capsys.readouterr().out
    assert 'through-plane: coronal PSNR' in printed and 'z-gradient error' in printed
    assert 'uncertainty: Spearman(std, |error|)' in printed
    page = report.read_text()
    for element in ('id="slider-sagittal"', 'id="img-coronal-error"',
                    'id="img-axial-uncertainty"', '<th>uncertainty_spearman</th>',
                    'shared sampling'):
        assert element in page
    assert 'http' not in page


def test_report_takes_one_html_file(phantom, trained, cli, tmp_path, monkeypatch):
    refuse_work(cli, monkeypatch)
    with pytest.raises(SystemExit, match='--report .*report.txt must end in .html'):
        cli([*map(str, trained), '--input', str(subject_file(phantom, 't1')), '--output',
             str(tmp_path / 'syn.nii.gz'), '--report', str(tmp_path / 'report.txt')])
    with pytest.raises(SystemExit, match='--report take one input volume, got 2'):
        cli([*map(str, trained), '--input', str(phantom / 'phantom_00[23]' / 't1.nii.gz'),
             '--output', str(tmp_path), '--report', str(tmp_path / 'report.html')])


def test_same_seed_same_volume_other_seed_other_volume(phantom, model):
    source = subject_file(phantom, 't1')
    first = synthesize_volume(model, source, samples=2, seed=7)
    again = synthesize_volume(model, source, samples=2, seed=7)
    other = synthesize_volume(model, source, samples=2, seed=8)
    np.testing.assert_array_equal(first.synthetic, again.synthetic)
    np.testing.assert_array_equal(first.uncertainty, again.uncertainty)
    assert not np.array_equal(first.synthetic, other.synthetic)


def test_one_sample_has_no_uncertainty_and_its_last_step_is_the_output(phantom, model):
    result = synthesize_volume(model, subject_file(phantom, 't1'), nfe=3, return_steps=True)
    assert result.uncertainty is None and result.nfe == 3 and len(result.steps) == 3
    np.testing.assert_allclose(result.steps[-1], result.synthetic, atol=1e-6)
    assert not np.allclose(result.steps[0], result.synthetic)


@pytest.mark.parametrize('nfe', [1, 5])
def test_nfe_generator_calls_per_batch(phantom, model, nfe):
    calls = []
    hook = model.generator.register_forward_hook(lambda m, i, o: calls.append(len(i[0])))
    try:
        synthesize_volume(model, subject_file(phantom, 't1'), nfe=nfe, samples=2,
                          batch_size=16)
    finally:
        hook.remove()
    brain_slices = sum(calls) // (nfe * 2)
    assert len(calls) == nfe * 2 * -(-brain_slices // 16)


def test_nfe_and_samples_checked_against_the_model(model):
    assert check_sampling(model) == model.num_steps == 5
    for nfe in (0, model.num_steps + 1):
        with pytest.raises(SynthesisError, match='nfe must be'):
            check_sampling(model, nfe=nfe)
    with pytest.raises(SynthesisError, match='samples'):
        check_sampling(model, samples=0)
    pix2pix = MODELS.build(dict(
        type='Pix2Pix', generator=dict(type='UnetGenerator', in_channels=1, out_channels=1,
                                       num_downs=5, ngf=8),
        discriminator=dict(type='PatchDiscriminator', in_channels=2, ndf=8)))
    assert check_sampling(pix2pix) == 1
    with pytest.raises(SynthesisError, match='deterministic'):
        check_sampling(pix2pix, samples=2)
    with pytest.raises(SynthesisError, match='single-step'):
        check_sampling(pix2pix, nfe=3)


# ------------------------------------------------------------------ geometry

def test_network_slices_are_the_training_slices(phantom, trained, tmp_path):
    """Synthesis feeds the network exactly what training fed it, whatever
    the input's orientation."""
    settings = synthesis_settings(Config.fromfile(str(trained[0])))
    files = {'source': subject_file(phantom, 't1'), 'target': subject_file(phantom, 't2'),
             'brain_mask': subject_file(phantom, 'brain_mask'), 'lesion_mask': None}
    training = read_subject_slices(SUBJECT, files, settings.slices)
    for path in (files['source'], reoriented_copy(files['source'], tmp_path / 'lpi.nii.gz')):
        mask = subject_file(phantom, 'brain_mask')
        if path != files['source']:
            mask = reoriented_copy(mask, tmp_path / 'mask_lpi.nii.gz')
        volume = prepare_volume(path, settings, brain_mask=mask)
        assert volume.norm_range == pytest.approx(training.info['norm_source'])
        position = {k: i for i, k in enumerate(volume.layout.indices)}
        kept = [position[k] for k in training.layout.indices]
        # synthesis keeps every slice with brain, training those with enough
        assert 0 < len(kept) < len(volume.layout.indices)
        np.testing.assert_array_equal(volume.slices[kept], training.source)


@pytest.mark.parametrize('orientation', ['ras', 'reoriented'])
def test_identity_model_returns_the_normalised_input(phantom, tmp_path, orientation):
    source = subject_file(phantom, 't1')
    if orientation == 'reoriented':
        source = reoriented_copy(source, tmp_path / 't1_lpi.nii.gz')
    image = nib.load(str(source))
    data = image.get_fdata(dtype=np.float32)
    result = synthesize_volume(IdentityTranslator(size=None), source)
    brain = result.brain_mask
    expected = np.where(brain, (normalise(data, *result.source_range) + 1) / 2, 0)
    assert result.synthetic.shape == data.shape
    np.testing.assert_allclose(result.synthetic, expected, atol=1e-6)
    # Through a resizing network the geometry holds up to the resize's blur;
    # the bounds fail for a shift of one voxel (correlation 0.71-0.77).
    for size, min_correlation in ((64, 0.95), (32, 0.85)):
        resized = synthesize_volume(IdentityTranslator(size=size), source).synthetic
        assert np.corrcoef(resized[brain], expected[brain])[0, 1] > min_correlation
        assert resized[~brain].max() == 0


def test_reoriented_input_gives_the_reoriented_output(phantom, model, tmp_path):
    source = subject_file(phantom, 't1')
    copy = reoriented_copy(source, tmp_path / 't1_lpi.nii.gz')
    ras = synthesize_volume(model, source, seed=1).synthetic
    result = synthesize_volume(model, copy, seed=1)
    np.testing.assert_array_equal(result.affine, nib.load(str(copy)).affine)
    back = nib.as_closest_canonical(nib.Nifti1Image(result.synthetic, result.affine))
    np.testing.assert_allclose(np.asarray(back.dataobj), ras, atol=1e-6)


def test_reference_scores_are_perfect_for_the_input_itself(phantom):
    settings = synthesis_settings(IdentityTranslator().cfg)
    source = subject_file(phantom, 't1')
    result = synthesize_volume(IdentityTranslator(size=None), source)
    with np.errstate(divide='ignore'):  # PSNR of identical volumes is infinite
        same = reference_scores(result, source, settings)
    assert same['NRMSE'] < 1e-5 and same['SSIM'] > 0.9999
    other = reference_scores(result, subject_file(phantom, 't2'), settings)
    assert other['NRMSE'] > 0.1 and other['SSIM'] < same['SSIM']
    assert other['num_slices'] == same['num_slices'] > 0


# ---------------------------------------------------------------- bad input

def write_bad(kind, folder):
    path = folder / f't1_{kind}.nii.gz'
    affine = np.eye(4)
    if kind == 'not_nifti':
        path.write_text('this is not an image')
    elif kind == 'truncated':
        volume = nib.Nifti1Image(np.random.rand(16, 16, 16).astype(np.float32), affine)
        nib.save(volume, str(path))
        path.write_bytes(path.read_bytes()[:400])
    elif kind == 'plain_gzip_text':
        path.write_bytes(gzip.compress(b'nope'))
    else:
        data = {'2d': np.ones((16, 16), np.float32),
                '4d': np.ones((8, 8, 8, 3), np.float32),
                'nan': np.where(np.arange(512).reshape(8, 8, 8) == 5, np.nan, 1).astype(
                    np.float32),
                'empty': np.zeros((8, 8, 8), np.float32)}[kind]
        nib.save(nib.Nifti1Image(data, affine), str(path))
    return path


@pytest.mark.parametrize('kind', ['not_nifti', 'truncated', 'plain_gzip_text', '2d', '4d',
                                  'nan', 'empty'])
def test_bad_input_names_the_file_and_writes_nothing(kind, trained, cli, tmp_path):
    bad = write_bad(kind, tmp_path)
    out = tmp_path / 'out'
    with pytest.raises(SystemExit) as error:
        cli([*map(str, trained), '--input', str(bad), '--output', str(out / 'syn.nii.gz'),
             '--device', 'cpu'])
    assert str(bad) in str(error.value)
    assert not out.exists() or not any(out.iterdir())


def test_one_bad_file_in_a_glob_stops_before_any_output(phantom, trained, cli, tmp_path):
    folder = tmp_path / 'scans'
    folder.mkdir()
    shutil.copy(subject_file(phantom, 't1'), folder / 'a_t1.nii.gz')
    bad = write_bad('nan', folder)
    out = tmp_path / 'out'
    with pytest.raises(SystemExit, match=str(bad)):
        cli([*map(str, trained), '--input', str(folder / '*.nii.gz'), '--output', str(out),
             '--device', 'cpu'])
    assert not out.exists() or not any(out.rglob('*'))


def test_glob_of_subjects_mirrors_the_folders(phantom, trained, cli, tmp_path):
    out = tmp_path / 'out'
    cli([*map(str, trained), '--input', str(phantom / 'phantom_00[23]' / 't1.nii.gz'),
         '--output', str(out), '--nfe', '1', '--device', 'cpu'])
    written = sorted(str(p.relative_to(out)) for p in out.rglob('*.nii.gz'))
    assert written == ['phantom_002/t1_t2.nii.gz', 'phantom_003/t1_t2.nii.gz']


def test_checkpoint_of_another_config_names_both_files(trained, cli, tmp_path):
    config, checkpoint = trained
    with pytest.raises(ModelLoadError) as error:
        load_model(PIX2PIX_CONFIG, checkpoint, device='cpu')
    assert str(checkpoint) in str(error.value) and str(PIX2PIX_CONFIG) in str(error.value)
    assert 'missing' in str(error.value) and 'unexpected' in str(error.value)
    # the same architecture with other widths: weights of another shape
    with pytest.raises(ModelLoadError, match='another shape'):
        load_model(FGSB_CONFIG, checkpoint, device='cpu')
    not_a_checkpoint = tmp_path / 'model.pth'
    not_a_checkpoint.write_text('garbage')
    with pytest.raises(SystemExit, match=str(not_a_checkpoint)):
        cli([str(config), str(not_a_checkpoint), '--input', str(config), '--output',
             str(tmp_path / 'o.nii.gz')])


def test_other_source_contrast_warns(phantom, trained, cli, tmp_path, capsys):
    flair = tmp_path / 'sub01_FLAIR.nii.gz'
    shutil.copy(subject_file(phantom, 'flair'), flair)
    cli([*map(str, trained), '--input', str(flair), '--output', str(tmp_path / 'a.nii.gz'),
         '--nfe', '1', '--device', 'cpu'])
    warning = capsys.readouterr().err
    assert 'warning' in warning and "'flair'" in warning and "'t1'" in warning
    cli([*map(str, trained), '--input', str(subject_file(phantom, 't1')), '--output',
         str(tmp_path / 'b.nii.gz'), '--nfe', '1', '--device', 'cpu',
         '--source-contrast', 'T2w'])
    assert "'t2'" in capsys.readouterr().err
    cli([*map(str, trained), '--input', str(subject_file(phantom, 't1')), '--output',
         str(tmp_path / 'c.nii.gz'), '--nfe', '1', '--device', 'cpu'])
    assert 'warning' not in capsys.readouterr().err


def test_existing_output_needs_overwrite(phantom, trained, cli, tmp_path):
    out = tmp_path / 'syn.nii.gz'
    out.write_bytes(b'keep me')
    args = [*map(str, trained), '--input', str(subject_file(phantom, 't1')), '--output',
            str(out), '--nfe', '1', '--device', 'cpu']
    with pytest.raises(SystemExit, match='--overwrite'):
        cli(args)
    assert out.read_bytes() == b'keep me'
    cli(args + ['--overwrite'])
    assert nib.load(str(out)).shape == nib.load(str(subject_file(phantom, 't1'))).shape
    with pytest.raises(SystemExit, match='overwrite an input'):
        cli([*map(str, trained), '--input', str(out), '--output', str(out), '--overwrite'])


def test_uncertainty_needs_several_samples(phantom, trained, cli, tmp_path):
    with pytest.raises(SystemExit, match='--samples'):
        cli([*map(str, trained), '--input', str(subject_file(phantom, 't1')), '--output',
             str(tmp_path / 'o.nii.gz'), '--uncertainty', str(tmp_path / 's.nii.gz')])


def test_brain_mask_on_another_grid_is_refused(phantom, model, tmp_path):
    mask = reoriented_copy(subject_file(phantom, 'brain_mask'), tmp_path / 'mask.nii.gz')
    with pytest.raises(VolumeError, match=str(mask)):
        synthesize_volume(model, subject_file(phantom, 't1'), brain_mask=mask)


# ------------------------------------------------------- non-finite output

@pytest.fixture(scope='module')
def nan_checkpoint(trained, tmp_path_factory):
    """The trained checkpoint with NaN generator weights (a diverged run)."""
    content = read_checkpoint(trained[1])
    for key, value in content['state_dict'].items():
        if key.startswith('generator.') and value.is_floating_point():
            value.fill_(float('nan'))
    path = tmp_path_factory.mktemp('nan') / 'nan.pth'
    torch.save(content, path)
    return path


class InfTranslator(IdentityTranslator):
    """Returns its input with one +Inf voxel a slice (clipping would hide it)."""

    def translate(self, source, nfe=None, generator=None, return_steps=False):
        out = source.clone()
        out[:, :, 0, 0] = float('inf')
        return (out, [out]) if return_steps else out


def test_non_finite_output_is_an_error(phantom):
    source = subject_file(phantom, 't1')
    with pytest.raises(NonFiniteOutputError, match=f'{source}: InfTranslator predicted'):
        synthesize_volume(InfTranslator(size=32), source)


def test_nan_checkpoint_stops_synthesis_and_writes_nothing(phantom, trained, nan_checkpoint,
                                                           cli, tmp_path):
    out = tmp_path / 'out'
    source = subject_file(phantom, 't1')
    with pytest.raises(SystemExit) as error:
        cli([str(trained[0]), str(nan_checkpoint), '--input', str(source), '--output',
             str(out / 'syn.nii.gz'), '--nfe', '1', '--device', 'cpu'])
    message = str(error.value)
    assert message.startswith('error: ') and '\n' not in message
    assert str(source) in message and str(nan_checkpoint) in message and 'NaN' in message
    assert not out.exists() or not any(out.rglob('*'))


# ---------------------------------------------------- output locations

def refuse_work(cli, monkeypatch):
    """Make any synthesis fail the test: the checks must come before it."""
    def no_work(*args, **kwargs):
        raise AssertionError('synthesis started before the output checks')
    monkeypatch.setitem(cli.__globals__, 'synthesize_volume', no_work)


def test_output_under_a_file_is_refused_before_any_work(phantom, trained, cli, tmp_path,
                                                        monkeypatch):
    refuse_work(cli, monkeypatch)
    blocker = tmp_path / 'notes.txt'
    blocker.write_text('a file, not a folder')
    out = blocker / 'syn.nii.gz'
    with pytest.raises(SystemExit) as error:
        cli([*map(str, trained), '--input', str(subject_file(phantom, 't1')), '--output',
             str(out), '--device', 'cpu'])
    assert str(error.value) == f'error: {out}: {blocker} is a file, not a folder'


def test_existing_folder_where_a_file_goes_is_refused(phantom, trained, cli, tmp_path,
                                                      monkeypatch):
    refuse_work(cli, monkeypatch)
    folder = tmp_path / 'std.nii.gz'
    folder.mkdir()
    with pytest.raises(SystemExit) as error:
        cli([*map(str, trained), '--input', str(subject_file(phantom, 't1')), '--output',
             str(tmp_path / 'syn.nii.gz'), '--samples', '2', '--uncertainty', str(folder),
             '--overwrite', '--device', 'cpu'])
    assert str(error.value) == f'error: {folder} is a folder; a file is written there'
    # the same for a folder output whose computed file name is a folder
    (tmp_path / 'out' / 'phantom_002' / 't1_t2.nii.gz').mkdir(parents=True)
    with pytest.raises(SystemExit, match='t1_t2.nii.gz is a folder'):
        cli([*map(str, trained), '--input', str(phantom / 'phantom_00[23]' / 't1.nii.gz'),
             '--output', str(tmp_path / 'out'), '--overwrite', '--device', 'cpu'])


def test_unwritable_output_folder_is_refused_before_any_work(phantom, trained, cli, tmp_path,
                                                             monkeypatch):
    refuse_work(cli, monkeypatch)
    locked = tmp_path / 'locked'
    locked.mkdir()
    if os.geteuid() == 0:  # root writes into a 0555 folder: stand in for a read-only one
        real_access = os.access
        monkeypatch.setattr(os, 'access', lambda path, mode, **kw: Path(path) != locked
                            and real_access(path, mode, **kw))
    else:
        locked.chmod(0o555)
    try:
        with pytest.raises(SystemExit) as error:
            cli([*map(str, trained), '--input', str(subject_file(phantom, 't1')),
                 '--output', str(locked / 'sub' / 'syn.nii.gz'), '--device', 'cpu'])
    finally:
        locked.chmod(0o755)
    assert str(error.value) == (f'error: {locked / "sub" / "syn.nii.gz"}: the folder '
                                f'{locked} is not writable')


def test_unwritable_output_exits_non_zero_with_one_line(phantom, trained, tmp_path):
    blocker = tmp_path / 'notes.txt'
    blocker.write_text('x')
    done = subprocess.run(
        [sys.executable, str(ROOT / 'tools/synthesize.py'), *map(str, trained), '--input',
         str(subject_file(phantom, 't1')), '--output', str(blocker / 'syn.nii.gz'),
         '--device', 'cpu'], capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        f'error: {blocker / "syn.nii.gz"}: {blocker} is a file, not a folder']


# ------------------------------------------------------- temporaries

def test_stale_temporaries_are_removed_and_never_read(phantom, trained, cli, tmp_path):
    scans = tmp_path / 'scans'
    scans.mkdir()
    shutil.copy(subject_file(phantom, 't1'), scans / 'a_t1.nii.gz')
    # a killed writer's leftover (as older versions named it) is no scan
    (scans / '.a_t1.nii.gz.3f2a9c1b.nii.gz').write_bytes(b'half a volume')
    out = tmp_path / 'out'
    out.mkdir()
    stale = out / '.a_t1_t2.nii.gz.0badc0de.fgsb-tmp'
    stale.write_bytes(b'half a volume')
    (out / '.keep').write_text('not ours')
    cli([*map(str, trained), '--input', str(scans), '--output', str(out), '--nfe', '1',
         '--device', 'cpu'])
    assert sorted(p.name for p in out.iterdir()) == ['.keep', 'a_t1_t2.nii.gz']


# ------------------------------------------ checkpoint and batch checks

def test_checkpoint_records_its_training_data(trained):
    recorded = recorded_dataset_meta(trained[1])
    assert (recorded['source'], recorded['target'], recorded['size']) == ('t1', 't2', 32)


def test_config_of_another_target_is_refused(phantom, trained, cli, tmp_path):
    config, checkpoint = trained
    cfg = Config.fromfile(str(config))
    cfg.test_dataloader.dataset.target = 'flair'
    cfg.train_dataloader.dataset.dataset.target = 'flair'
    flair_config = tmp_path / 'flair_config.py'
    cfg.dump(str(flair_config))
    out = tmp_path / 'out'
    with pytest.raises(SystemExit) as error:
        cli([str(flair_config), str(checkpoint), '--input', str(subject_file(phantom, 't1')),
             '--output', str(out / 't1_flair.nii.gz'), '--nfe', '1', '--device', 'cpu'])
    assert str(error.value) == (
        f"error: {checkpoint} was trained with target 't2', but {flair_config} has target "
        "'flair'; pass the config it was trained with")
    assert not out.exists()


def test_a_batch_is_checked_whole_before_any_output(phantom, trained, cli, tmp_path):
    scans = tmp_path / 'scans'
    scans.mkdir()
    shutil.copy(subject_file(phantom, 't1'), scans / 'a_t1.nii.gz')
    constant = scans / 'b_t1.nii.gz'  # readable, but no contrast to normalise
    nib.save(nib.Nifti1Image(np.full((16, 16, 16), 7.0, np.float32), np.eye(4)),
             str(constant))
    out = tmp_path / 'out'
    with pytest.raises(SystemExit, match=f'{constant}: .*constant'):
        cli([*map(str, trained), '--input', str(scans), '--output', str(out), '--nfe', '1',
             '--device', 'cpu'])
    assert not out.exists() or not any(out.rglob('*'))
