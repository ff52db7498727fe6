"""Study v2 (tools/run_study_v2.py over fgsb.study.v2): two seeds of a tiny
Pix2Pix trained to the stopping rule's budget on a tiny phantom, scored
through the synthesis path, collected into the v2 table, then resumed."""
import csv
import json
from pathlib import Path

import numpy as np
import pytest
from mmengine.config import Config

from fgsb.study.v2 import CSV_COLUMNS, EXPERIMENTS
from fgsb.study.v2.manifest import BAR_PAIRS, BY_NAME
from fgsb.study.v2.report import bar_lines
from test_configs import tiny_options
from tool_loader import load_tool

ROOT = Path(__file__).resolve().parents[1]
# 6 subjects: 2 test, 2 carved for validation, 2 to train on
PHANTOM = dict(num_subjects=6, num_test=2, downsample=4, seed=0, version=1)


run_study_v2 = load_tool('run_study_v2')


@pytest.fixture(scope='module')
def phantom_root(tmp_path_factory):
    from fgsb.datasets.phantom import ensure_phantom

    return ensure_phantom(tmp_path_factory.mktemp('phantom6') / 'root', progress=False,
                          **PHANTOM)


def study_args(name, root, tmp_path):
    cfg = Config.fromfile(str(ROOT / BY_NAME[name].config))
    keep = [o for o in tiny_options(cfg, root, 'x')
            if not o.startswith(('work_dir=', 'custom_hooks=')) and '.val_subjects=' not in o
            and '.split=' not in o
            and '.phantom.' not in o]
    paths = ['train_dataloader.dataset.dataset', 'val_dataloader.dataset',
             'test_dataloader.dataset']
    phantom = [f'{p}.phantom.{k}={v}' for p in paths for k, v in PHANTOM.items()]
    phantom += [f'{p}.phantom.sites=None' for p in paths]
    budget = ['train_cfg.max_iters=4', 'train_cfg.val_interval=2']
    return ['--in-process', '--only', name, '--seeds', '0', '1',
            '--work-root', str(tmp_path / 'runs'), '--out-dir', str(tmp_path / 'out'),
            '--results-doc', str(tmp_path / 'results.md'),
            '--readme', str(tmp_path / 'README.md'),
            '--cfg-options', *keep, *phantom, *budget]


def test_manifest_rows_name_existing_configs_and_the_issue_columns():
    assert all((ROOT / e.config).is_file() for e in EXPERIMENTS)
    assert CSV_COLUMNS[:22] == (
        'experiment', 'task', 'method', 'prior', 'phantom', 'train_site', 'test_site',
        'train_subjects', 'input', 'sampling', 'seeds', 'iterations', 'PSNR_mean',
        'PSNR_seed_std', 'SSIM_mean', 'SSIM_seed_std', 'NRMSE_mean', 'Dice_mean',
        'Dice_seed_std', 'lesion_detection', 'through_plane_error', 'train_cpu_s')
    cfg = Config.fromfile(str(ROOT / BY_NAME['fgsb_best_t2_2subj'].config))
    # validation subjects are carved from train in train and val alike; test stays test
    assert cfg.train_dataloader.dataset.dataset.val_subjects == 2
    assert cfg.val_dataloader.dataset.split == 'val'
    assert cfg.val_dataloader.dataset.val_subjects == 2
    assert cfg.test_dataloader.dataset.split == 'test'
    assert 'val_subjects' not in cfg.test_dataloader.dataset
    # a row that scores another row's trained seeds differently trains nothing itself
    shared = BY_NAME['fgsb_best_t2_2subj_shared_noise']
    root = Path('runs')
    assert shared.train_dir(root, 1) == BY_NAME['fgsb_best_t2_2subj'].work_dir(root, 1)
    assert shared.work_dir(root, 1) == root / 'fgsb_best_t2_2subj_shared_noise' / 'seed1'
    # ... and trains nothing differently: the same model and training data as its trainer
    for e in (e for e in EXPERIMENTS if e.trained_by):
        trainer = BY_NAME[e.trained_by]
        if trainer.config != e.config:
            ours, theirs = (Config.fromfile(str(ROOT / c)) for c in (e.config, trainer.config))
            assert ours.model == theirs.model and ours.train_dataloader == theirs.train_dataloader
            assert ours.val_dataloader == theirs.val_dataloader, e.name


def test_each_rows_network_size_is_its_configs():
    from fgsb.engine.run_config import innermost_dataset

    for config in sorted({e.config for e in EXPERIMENTS}):
        cfg = Config.fromfile(str(ROOT / config))
        sizes = {innermost_dataset(cfg[loader].dataset).get('size')
                 for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')}
        assert sizes == {e.network_size for e in EXPERIMENTS if e.config == config}, config


def sites_only_root(root):
    """What subject selection reads of phantom v2's default root (splits and
    each subject's site, no volume): 8 train, 4 test, the sites in turn."""
    from fgsb.datasets.prepared_layout import RECORD_FILE

    ids = [f'phantom_{i:03d}' for i in range(12)]
    root.mkdir()
    (root / 'splits.json').write_text(json.dumps({'train': ids[:8], 'test': ids[8:]}))
    for i, subject in enumerate(ids):
        (root / subject).mkdir()
        (root / subject / RECORD_FILE).write_text(
            json.dumps({'site': ('guys', 'hh', 'iop')[i % 3]}))
    return root


def test_cross_site_rows_train_at_one_site_and_test_at_theirs(tmp_path):
    from fgsb.datasets.prepared_layout import select_subjects
    from fgsb.engine.run_config import innermost_dataset

    phantom_v2_study_root = sites_only_root(tmp_path / 'root')

    def subjects(name, loader):
        d = innermost_dataset(Config.fromfile(str(ROOT / BY_NAME[name].config))[loader].dataset)
        return select_subjects(phantom_v2_study_root, d.get('split', 'train'),
                               d.get('num_subjects'), seed=d.get('seed', 0),
                               val_subjects=d.get('val_subjects', 0), sites=d.get('sites'))

    sites = {f'phantom_{i:03d}': ('guys', 'hh', 'iop')[i % 3] for i in range(12)}
    trained = subjects('pix2pix_t2_2subj_guys', 'train_dataloader')
    assert len(trained) == 2 and {sites[s] for s in trained} == {'guys'}
    assert subjects('fgsb_best_t2_2subj_guys', 'train_dataloader') == trained
    for site in ('guys', 'hh', 'iop'):
        tested = subjects(f'pix2pix_t2_2subj_guys_test_{site}', 'test_dataloader')
        assert tested and {sites[s] for s in tested} == {site}


def test_bar_compares_seed_means_against_the_larger_seed_spread():
    def row(name, psnr, std):
        return {'experiment': name, 'task': 't1->t2', 'PSNR_mean': psnr, 'PSNR_seed_std': std,
                'SSIM_mean': 0.9, 'SSIM_seed_std': None}
    ours, theirs = BAR_PAIRS[0]
    lines = bar_lines([row(ours, 24.0, 0.2), row(theirs, 23.7, 0.35)])
    psnr = [line for line in lines if '| PSNR |' in line][0]
    assert '| +0.30 | 0.35 | no |' in psnr  # 0.30 does not exceed 0.35
    lines = bar_lines([row(ours, 24.0, 0.2), row(theirs, 23.5, 0.35), row('other', 30, 0)])
    assert '| +0.50 | 0.35 | yes |' in [line for line in lines if '| PSNR |' in line][0]
    assert '| n/a |' in [line for line in lines if '| SSIM |' in line][0]  # no spread known
    assert len(lines) == 4  # the header, its rule and one pair's two measures


def test_two_seeds_end_to_end_then_resume(phantom_root, tmp_path, capsys):
    (tmp_path / 'results.md').write_text('# v2\n<!-- study-results:start -->\nOLD\n'
                                         '<!-- study-results:end -->\n')
    (tmp_path / 'README.md').write_text('# r\n<!-- quick-start-results:start -->\nOLD\n'
                                        '<!-- quick-start-results:end -->\ntail\n')
    args = study_args('pix2pix_t2_2subj', phantom_root, tmp_path)
    assert run_study_v2.main(args) == 0
    runs = tmp_path / 'runs' / 'pix2pix_t2_2subj'
    natives = []
    for seed in (0, 1):
        work_dir = runs / f'seed{seed}'
        curve = json.loads((work_dir / 'learning_curve.json').read_text())
        assert [e['iteration'] for e in curve['entries']] == [2, 4]
        assert list(work_dir.glob('best_PSNR_iter_*.pth'))
        native = json.loads((work_dir / 'native_scores.json').read_text())
        assert [s['subject'] for s in native['per_subject']] == ['phantom_004', 'phantom_005']
        assert native['mean']['PSNR'] == pytest.approx(
            np.mean([s['PSNR'] for s in native['per_subject']]))
        natives.append(native['mean'])
        record = json.loads((work_dir / 'study_record.json').read_text())
        assert f'randomness.seed={seed}' in record['train_command']
    rows = list(csv.DictReader((tmp_path / 'out/phantom_study_v2.csv').open()))
    assert tuple(rows[0]) == CSV_COLUMNS and len(rows) == 1
    row = rows[0]
    assert row['seeds'] == '2' and row['iterations'] == '4' and row['method'] == 'Pix2Pix'
    psnrs = [n['PSNR'] for n in natives]
    assert float(row['PSNR_mean']) == pytest.approx(np.mean(psnrs), abs=1e-4)
    assert float(row['PSNR_seed_std']) == pytest.approx(np.std(psnrs, ddof=1), abs=1e-4)
    assert float(row['through_plane_error']) > 0 and row['Dice_mean'] == ''
    assert float(row['PSNR_slices_mean']) > 0  # the v1 convention, from metrics.json
    assert (tmp_path / 'out/phantom_study_v2_curves.png').stat().st_size > 0
    doc = (tmp_path / 'results.md').read_text()
    assert 'OLD' not in doc and '| `pix2pix_t2_2subj` | Pix2Pix |' in doc
    readme = (tmp_path / 'README.md').read_text()
    assert 'OLD' not in readme and readme.endswith('tail\n')
    assert '| T1->T2 | Pix2Pix | `configs/study_v2/pix2pix_t2_2subj.py` | 2 |' in readme

    stamps = {p: p.stat().st_mtime_ns for p in runs.rglob('*.json')}
    capsys.readouterr()
    assert run_study_v2.main(args) == 0
    out = capsys.readouterr().out
    assert 'training' not in out and 'native scores' not in out
    assert stamps == {p: p.stat().st_mtime_ns for p in stamps}

    # choosing the number of draws on validation subjects, never the test split
    assert run_study_v2.main(args + ['--validation-samples', '1']) == 0
    val = json.loads((runs / 'seed0/native_scores_val_K1.json').read_text())
    assert val['split'] == 'val' and len(val['per_subject']) == 2
    test_subjects = {'phantom_004', 'phantom_005'}
    assert not test_subjects & {s['subject'] for s in val['per_subject']}


def test_unknown_experiment_is_refused(capsys):
    with pytest.raises(SystemExit):
        run_study_v2.parse_args(['--only', 'nope'])
    assert 'unknown experiment(s) nope' in capsys.readouterr().err


def test_a_row_scoring_another_rows_seeds_never_trains_them(monkeypatch, capsys):
    calls = []
    for step in ('train', 'score'):
        monkeypatch.setattr(run_study_v2, f'{step}_seed',
                            lambda e, s, _, step=step: calls.append((step, e.name, s)))
    finished = {('pix2pix_flair_2subj', 0)}
    monkeypatch.setattr(run_study_v2, 'training_finished',
                        lambda d: (d.parent.name, int(d.name[4:])) in finished)
    settings = run_study_v2.StudySettings(work_root=Path('runs'))
    row = BY_NAME['pix2pix_flair_2subj_heldout_lesions']
    assert run_study_v2.run([row], settings, seeds=(0, 1)) == []
    # seed 0 of the trainer is trained: scored; seed 1 is not: skipped, never trained
    assert calls == [('score', row.name, 0)]
    assert 'seed 1: not trained yet (by pix2pix_flair_2subj), skipped' in capsys.readouterr().out
