"""End-to-end training through MMEngine's Runner, checkpoints and resume."""
from pathlib import Path

import torch
from mmengine.hooks import Hook
from mmengine.runner import Runner

import fgsb.engine  # noqa: F401
from conftest import tiny_config

ROOT = Path(__file__).resolve().parents[1]
PIX2PIX = ROOT / 'configs/pix2pix/pix2pix_phantom_2subj.py'


class RecordStartHook(Hook):
    """Remember where training (re)starts: counters and optimiser state."""

    def before_train(self, runner):
        optim = runner.optim_wrapper['generator'].optimizer
        first = next(iter(optim.state.values()), {})
        self.start = dict(iter=runner.iter, epoch=runner.epoch,
                          adam_step=float(first.get('step', 0)),
                          exp_avg=first.get('exp_avg', torch.zeros(0)).clone())


def run(cfg, resume_from=None):
    if resume_from is not None:
        cfg.resume, cfg.load_from = True, str(resume_from)
    runner = Runner.from_cfg(cfg)
    recorder = RecordStartHook()
    runner.register_hook(recorder)
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
