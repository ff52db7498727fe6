"""End-to-end training through the toolbox's Runner, checkpoints and resume."""
import itertools
import shutil
from pathlib import Path

import pytest
import torch
from mmengine.fileio.backends import LocalBackend
from mmengine.hooks import Hook

import fgsb.engine  # noqa: F401
from fgsb.engine.checkpoint_loading import CheckpointError
from fgsb.engine.runner import ToolboxRunner
from conftest import run_tool, tiny_config, tiny_iteration_config, write_prepared_root

ROOT = Path(__file__).resolve().parents[1]
PIX2PIX = ROOT / 'configs/pix2pix/pix2pix_phantom_2subj.py'
FGSB = ROOT / 'configs/fgsb/fgsb_phantom_2subj.py'
RUN_NUMBERS = itertools.count()


class RecordStartHook(Hook):
    """Remember where training (re)starts: counters and optimiser state."""

    def before_train(self, runner):
        optim = runner.optim_wrapper['generator'].optimizer
        first = next(iter(optim.state.values()), {})
        self.start = dict(iter=runner.iter, epoch=runner.epoch,
                          adam_step=float(first.get('step', 0)),
                          exp_avg=first.get('exp_avg', torch.zeros(0)).clone())


def run(cfg, resume_from=None, hooks=()):
    """Train ``cfg``; ``resume_from`` a checkpoint, or 'auto' for --resume
    without a path. Returns the runner and where training started."""
    if resume_from is not None:
        cfg.resume = True
        cfg.load_from = None if resume_from == 'auto' else str(resume_from)
    # MMEngine shares a logger and message hub between runners of the same
    # name, which it takes from the config and the time in seconds
    cfg.setdefault('experiment_name', f'run_{next(RUN_NUMBERS)}')
    runner = ToolboxRunner.from_cfg(cfg)
    recorder = RecordStartHook()
    for hook in (recorder, *hooks):
        runner.register_hook(hook)
    runner.train()
    return runner, recorder.start


def test_train_two_epochs_then_resume_to_three(prepared_root, tmp_path):
    cfg = tiny_config(PIX2PIX, prepared_root, tmp_path / 'work', max_epochs=2)
    runner, start = run(cfg)
    iters_per_epoch = len(runner.train_dataloader)
    assert start['iter'] == 0 and start['adam_step'] == 0
    assert runner.iter == 2 * iters_per_epoch
    checkpoint_path = tmp_path / 'work' / 'epoch_2.pth'
    assert checkpoint_path.is_file() and (tmp_path / 'work' / 'epoch_1.pth').is_file()

    # torch.load defaults to weights_only=True: the allow-list must cover
    # everything MMEngine stored.
    checkpoint = torch.load(checkpoint_path, map_location='cpu', weights_only=True)
    saved_state = checkpoint['optimizer']['generator']['state']
    saved_exp_avg = next(iter(saved_state.values()))['exp_avg']

    cfg = tiny_config(PIX2PIX, prepared_root, tmp_path / 'work', max_epochs=3)
    runner, start = run(cfg, resume_from=checkpoint_path)
    assert start['epoch'] == 2 and start['iter'] == 2 * iters_per_epoch
    assert start['adam_step'] == 2 * iters_per_epoch
    assert torch.equal(start['exp_avg'], saved_exp_avg)
    assert runner.epoch == 3 and runner.iter == 3 * iters_per_epoch
    assert (tmp_path / 'work' / 'epoch_3.pth').is_file()


def test_refuses_arbitrary_pickles(tmp_path):
    """The allow-list is narrow: a pickled object of another type is refused."""
    import pickle

    path = tmp_path / 'evil.pth'
    torch.save({'payload': Path('x')}, path)
    try:
        torch.load(path, weights_only=True)
    except pickle.UnpicklingError:
        return
    raise AssertionError('torch.load accepted a non-allow-listed type')


def test_tensorboard_logs_and_test_tool_metrics(prepared_root, tmp_path, monkeypatch):
    import json
    import runpy
    import sys

    from tensorboard.backend.event_processing.event_accumulator import \
        EventAccumulator

    cfg = tiny_config(PIX2PIX, prepared_root, tmp_path / 'work', max_epochs=1)
    run(cfg)
    events = list((tmp_path / 'work').rglob('events.out.tfevents.*'))
    assert events, 'no TensorBoard event file was written'
    accumulator = EventAccumulator(str(events[0].parent)).Reload()
    tags = accumulator.Tags()
    assert 'train/source_synthetic_target' in tags['images']
    assert {'loss_g', 'loss_d', 'generator.lr'} <= set(tags['scalars'])

    config = tmp_path / 'tiny.py'
    cfg.dump(str(config))
    out = tmp_path / 'metrics.json'
    monkeypatch.setattr(sys, 'argv', ['tools/test.py', str(config),
                                      str(tmp_path / 'work' / 'epoch_1.pth'),
                                      '--out', str(out)])
    runpy.run_path(str(ROOT / 'tools/test.py'), run_name='__main__')
    metrics = json.loads(out.read_text())
    for name in ('PSNR', 'SSIM', 'NRMSE'):
        assert set(metrics[name]) == {'mean', 'std'}
        assert name in metrics['identity_baseline']
    assert [row['subject'] for row in metrics['per_subject']] == ['sub_02', 'sub_03']
    assert metrics['nfe'] == 1 and metrics['checkpoint'].endswith('epoch_1.pth')


@pytest.mark.parametrize('leftover', ['nothing', 'truncated'])
def test_resume_without_a_readable_checkpoint_refuses(leftover, prepared_root, tmp_path,
                                                      monkeypatch):
    work = tmp_path / 'work'
    config = tmp_path / 'tiny.py'
    tiny_iteration_config(PIX2PIX, prepared_root, work, max_iters=2).dump(str(config))
    if leftover == 'truncated':  # the only checkpoint, cut by a kill
        work.mkdir()
        (work / 'iter_1.pth').write_bytes(b'PK\x03\x04 cut short')
        (work / 'last_checkpoint').write_text(str(work / 'iter_1.pth'))
    code = run_tool(monkeypatch, 'train', config, '--resume')
    assert isinstance(code, str) and code.startswith('error: cannot resume')
    assert str(work) in code and '\n' not in code
    if leftover == 'truncated':
        assert 'iter_1.pth' in code and 'truncated' in code
    assert not list(work.glob('iter_2.pth'))  # nothing trained from scratch


def log_text(work_dir):
    return '\n'.join(p.read_text() for p in Path(work_dir).rglob('*.log'))


def test_resume_falls_back_to_the_newest_readable_checkpoint(prepared_root, tmp_path):
    work = tmp_path / 'work'
    run(tiny_iteration_config(PIX2PIX, prepared_root, work, max_iters=2))
    assert (work / 'last_checkpoint').read_text() == 'iter_2.pth'
    (work / 'iter_2.pth').write_bytes((work / 'iter_2.pth').read_bytes()[:1000])
    runner, start = run(tiny_iteration_config(PIX2PIX, prepared_root, work, max_iters=3),
                        resume_from='auto')
    assert start['iter'] == 1 and runner.iter == 3
    assert 'iter_1.pth, the newest readable checkpoint' in log_text(work)
    # a deleted newest checkpoint falls back too
    (work / 'iter_3.pth').unlink()
    runner, start = run(tiny_iteration_config(PIX2PIX, prepared_root, work, max_iters=3),
                        resume_from='auto')
    assert start['iter'] == 2


def test_a_copied_work_dir_resumes_from_its_own_checkpoint(prepared_root, tmp_path):
    original, copy = tmp_path / 'original', tmp_path / 'copy'
    run(tiny_iteration_config(PIX2PIX, prepared_root, original, max_iters=1))
    shutil.copytree(original, copy)
    shutil.rmtree(original)
    runner, start = run(tiny_iteration_config(PIX2PIX, prepared_root, copy, max_iters=2),
                        resume_from='auto')
    assert start['iter'] == 1 and (copy / 'iter_2.pth').is_file()
    assert not original.exists()


def test_a_kill_mid_save_leaves_no_truncated_checkpoint(prepared_root, tmp_path, monkeypatch):
    work = tmp_path / 'work'
    put = LocalBackend.put

    def dies_half_way(self, obj, filepath):
        if 'iter_2' in str(filepath):  # the second checkpoint: half its bytes, then the kill
            put(self, obj[:len(obj) // 2], filepath)
            raise KeyboardInterrupt
        put(self, obj, filepath)

    monkeypatch.setattr(LocalBackend, 'put', dies_half_way)
    with pytest.raises(KeyboardInterrupt):
        run(tiny_iteration_config(PIX2PIX, prepared_root, work, max_iters=3))
    assert sorted(p.name for p in work.iterdir() if p.suffix == '.pth') == ['iter_1.pth']
    assert not [p for p in work.iterdir() if p.name.startswith('.')]  # no temporary left
    assert (work / 'last_checkpoint').read_text() == 'iter_1.pth'
    torch.load(work / 'iter_1.pth', weights_only=True)


def test_a_checkpoint_inside_an_epoch_cannot_resume_an_epoch_based_run(prepared_root,
                                                                       tmp_path):
    work = tmp_path / 'work'
    cfg = tiny_config(PIX2PIX, prepared_root, work, max_epochs=1)
    cfg.default_hooks.checkpoint.update(by_epoch=False, interval=1)
    cfg.custom_hooks = []
    with pytest.raises(KeyboardInterrupt):
        run(cfg, hooks=[StopAfterIteration(1)])
    with pytest.raises(CheckpointError, match='inside epoch 1'):
        run(tiny_config(PIX2PIX, prepared_root, work, max_epochs=1), resume_from='auto')


class StopAfterIteration(Hook):
    """Kill the run (KeyboardInterrupt) once iteration ``at`` is checkpointed."""

    priority = 'LOWEST'  # after the checkpoint hook

    def __init__(self, at):
        self.at = at

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 == self.at:
            raise KeyboardInterrupt


def final_weights(runner):
    return {k: v.clone() for k, v in runner.model.state_dict().items()}


def assert_bit_identical(resumed, uninterrupted):
    assert resumed.keys() == uninterrupted.keys()
    different = [k for k in resumed if not torch.equal(resumed[k], uninterrupted[k])]
    assert not different, f'{len(different)} tensors differ, e.g. {different[:3]}'


def test_killed_and_resumed_fgsb_run_ends_bit_identical(prepared_root, tmp_path):
    """3 iterations, a checkpoint after each; the killed run stops after the
    first, and resuming draws the same slices, flips, negatives, steps and noise."""
    uninterrupted, _ = run(tiny_iteration_config(FGSB, prepared_root, tmp_path / 'a', 3))
    expected = final_weights(uninterrupted)

    work = tmp_path / 'b'
    with pytest.raises(KeyboardInterrupt):
        run(tiny_iteration_config(FGSB, prepared_root, work, 3), hooks=[StopAfterIteration(1)])
    assert sorted(p.name for p in work.glob('iter_*.pth')) == ['iter_1.pth']
    resumed, start = run(tiny_iteration_config(FGSB, prepared_root, work, 3), resume_from='auto')
    assert start['iter'] == 1 and resumed.iter == 3
    assert_bit_identical(final_weights(resumed), expected)


def test_epoch_based_resume_with_validation_in_between_is_bit_identical(tmp_path):
    """One iteration an epoch, validation after every epoch: the killed run
    never validates the epoch it stopped after; resuming still matches."""
    root = write_prepared_root(tmp_path / 'small', num_subjects=2, num_test=1, shape=(32, 32, 4))

    def config(work):
        cfg = tiny_config(FGSB, root, work, max_epochs=3)
        cfg.train_dataloader.batch_size = 2  # both slices: one iteration an epoch
        cfg.train_cfg.val_interval = 1
        cfg.custom_hooks = []
        return cfg

    uninterrupted, _ = run(config(tmp_path / 'a'))
    assert uninterrupted.iter == 3
    expected = final_weights(uninterrupted)
    work = tmp_path / 'b'
    with pytest.raises(KeyboardInterrupt):
        run(config(work), hooks=[StopAfterEpoch(1)])
    resumed, start = run(config(work), resume_from='auto')
    assert start['epoch'] == 1
    assert_bit_identical(final_weights(resumed), expected)


class StopAfterEpoch(Hook):
    """Kill the run once epoch ``at`` is checkpointed, before its validation."""

    priority = 'LOWEST'

    def __init__(self, at):
        self.at = at

    def after_train_epoch(self, runner):
        if runner.epoch + 1 == self.at:
            raise KeyboardInterrupt
