"""The precision policy: fp32 / bf16 / auto, its fp32 islands, and its use
in training, testing and synthesis (fgsb/engine/precision.py, precision_runner.py)."""
import argparse
import json
import runpy
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.evaluator import BaseMetric, Evaluator
from mmengine.model import BaseModel
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

import fgsb.engine  # noqa: F401  (registers the loops and wrappers)
from fgsb.apis import synthesis_settings, synthesize_volume
from fgsb.engine.precision import (DEFAULT_PRECISION, Precision, add_precision_argument,
                                   autocast, float32_island, native_bf16,
                                   requested_precision, resolve_precision,
                                   run_in_precision, to_float32)
from fgsb.engine.precision_runner import (PRECISION_FILE, apply_precision,
                                          record_precision)
from fgsb.losses import (GANLoss, L1Loss, MIEstimatorLoss, PatchNCELoss,
                         SchrodingerBridgeLoss, SSLReconstructionLoss)
from fgsb.models.networks.norm_layers import make_norm
from fgsb.registry import MODELS
from conftest import run_tool, tiny_iteration_config

ROOT = Path(__file__).resolve().parents[1]

AVX512_ONLY = {'architecture': 'x86_64', 'avx512_f': True, 'avx512_bw': True,
               'avx512_vl': True, 'avx512_dq': True, 'avx512_bf16': False, 'amx_bf16': False}
AVX512_BF16 = dict(AVX512_ONLY, avx512_bf16=True)
AMX = dict(AVX512_ONLY, amx_bf16=True, amx_tile=True)
ARM_BF16 = {'architecture': 'arm64', 'neon': True, 'bf16': True}
BF16 = Precision('bf16', 'test')
FP32 = Precision('fp32', 'test')


@pytest.fixture
def cpu_capabilities(monkeypatch):
    """Pretend this CPU has the given torch.cpu.get_capabilities()."""
    def pretend(capabilities):
        monkeypatch.setattr(torch.cpu, 'get_capabilities', lambda: capabilities)
    return pretend


@pytest.fixture
def cuda_device(monkeypatch):
    """Pretend a CUDA device is present, with or without bf16."""
    def pretend(bf16):
        monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
        monkeypatch.setattr(torch.cuda, 'is_bf16_supported', lambda *a, **k: bf16)
        monkeypatch.setattr(torch.cuda, 'get_device_name', lambda *a, **k: 'Test GPU')
    return pretend


# ---------------------------------------------------------------- capability

@pytest.mark.parametrize('capabilities, native', [
    (AVX512_ONLY, False), (AVX512_BF16, True), (AMX, True), (ARM_BF16, True),
    ({'architecture': 'x86_64', 'avx2': True}, False)])
def test_native_bf16_on_cpu_reads_the_bf16_instructions(cpu_capabilities, capabilities, native):
    cpu_capabilities(capabilities)
    assert native_bf16('cpu') is native
    assert native_bf16(torch.device('cpu')) is native


@pytest.mark.parametrize('avx512_bf16, amx, native', [(False, False, False), (True, False, True),
                                                     (False, True, True)])
def test_a_torch_without_get_capabilities_uses_its_x86_helpers(monkeypatch, avx512_bf16, amx,
                                                               native):
    monkeypatch.delattr(torch.cpu, 'get_capabilities')
    monkeypatch.setattr(torch.cpu, '_is_avx512_bf16_supported', lambda: avx512_bf16)
    monkeypatch.setattr(torch.cpu, '_is_amx_tile_supported', lambda: amx)
    assert native_bf16('cpu') is native


def test_native_bf16_on_cuda_asks_the_device(cuda_device):
    cuda_device(bf16=True)
    assert native_bf16('cuda') and native_bf16('cuda:1')
    cuda_device(bf16=False)
    assert not native_bf16('cuda')


def test_no_cuda_means_no_native_cuda_bf16(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    assert not native_bf16('cuda')


# ---------------------------------------------------------------- resolution

def test_auto_picks_fp32_on_a_cpu_without_native_bf16(cpu_capabilities):
    cpu_capabilities(AVX512_ONLY)  # oneDNN would call this bf16-capable: it only emulates
    precision = resolve_precision('auto', 'cpu')
    assert precision.name == 'fp32'
    assert 'no native bf16' in precision.reason


@pytest.mark.parametrize('capabilities, instructions', [
    (AVX512_BF16, 'AVX512-BF16'), (AMX, 'AMX-BF16'), (ARM_BF16, 'ARM BF16')])
def test_auto_picks_bf16_on_a_cpu_with_native_bf16(cpu_capabilities, capabilities, instructions):
    cpu_capabilities(capabilities)
    precision = resolve_precision('auto', 'cpu')
    assert precision.name == 'bf16'
    assert instructions in precision.reason


def test_auto_on_cuda_follows_the_device(cuda_device):
    cuda_device(bf16=True)
    assert resolve_precision('auto', 'cuda').name == 'bf16'
    assert 'Test GPU' in resolve_precision('auto', 'cuda').reason
    cuda_device(bf16=False)
    assert resolve_precision('auto', 'cuda').name == 'fp32'


def test_explicit_bf16_on_an_emulating_cpu_runs_but_warns(cpu_capabilities):
    cpu_capabilities(AVX512_ONLY)
    precision = resolve_precision('bf16', 'cpu')
    assert precision.name == 'bf16'
    assert 'emulated' in precision.reason and 'slower' in precision.reason


def test_explicit_bf16_on_a_cuda_device_without_it_is_refused(cuda_device):
    cuda_device(bf16=False)
    with pytest.raises(ValueError, match='bf16'):
        resolve_precision('bf16', 'cuda')


@pytest.mark.parametrize('capabilities', [AVX512_ONLY, AVX512_BF16])
def test_fp32_is_fp32_everywhere(cpu_capabilities, capabilities):
    cpu_capabilities(capabilities)
    assert resolve_precision('fp32', 'cpu') == Precision('fp32', 'fp32 was requested')


@pytest.mark.parametrize('name', ['bf32', 'BF16', 'fp16', '', None, 'amp'])
def test_bad_names_are_refused_naming_the_allowed_values(name):
    with pytest.raises(ValueError) as error:
        resolve_precision(name, 'cpu')
    assert all(allowed in str(error.value) for allowed in ('fp32', 'bf16', 'auto'))


def test_the_flag_beats_the_config_and_the_config_beats_the_default():
    assert requested_precision('bf16', Config(dict(precision='fp32'))) == 'bf16'
    assert requested_precision(None, Config(dict(precision='auto'))) == 'auto'
    assert requested_precision(None, Config(dict())) == DEFAULT_PRECISION
    assert requested_precision(None) == DEFAULT_PRECISION == 'auto'


def test_a_bad_config_value_names_the_config_key():
    with pytest.raises(ValueError, match=r'config key precision.*fp32, bf16, auto.*half'):
        requested_precision(None, Config(dict(precision='half')))


def test_precision_flag_and_the_deprecated_amp_alias(capsys):
    parser = argparse.ArgumentParser()
    add_precision_argument(parser, amp_alias=True)
    assert parser.parse_args([]).precision is None
    assert parser.parse_args(['--precision', 'auto']).precision == 'auto'
    assert parser.parse_args(['--amp']).precision == 'bf16'
    assert '--amp is deprecated' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parser.parse_args(['--precision', 'fp16'])
    plain = argparse.ArgumentParser()
    add_precision_argument(plain)
    with pytest.raises(SystemExit):
        plain.parse_args(['--amp'])


# ---------------------------------------------------------------- autocast

def test_autocast_runs_convolutions_in_the_chosen_precision():
    conv = torch.nn.Conv2d(1, 2, 3)
    x = torch.randn(1, 1, 8, 8)
    with autocast(BF16, 'cpu'):
        assert conv(x).dtype == torch.bfloat16
    with autocast(FP32, 'cpu'):
        assert conv(x).dtype == torch.float32
    with pytest.raises(TypeError, match='Precision'):
        autocast('bf16', 'cpu')


def test_run_in_precision_returns_float32_close_to_fp32():
    conv = torch.nn.Conv2d(1, 2, 3)
    x = torch.randn(1, 1, 8, 8)

    def translate(image):
        out = conv(image)
        return out, [out, out]
    reference, _ = translate(x)
    out, steps = run_in_precision(BF16, 'cpu', translate, x)
    assert out.dtype == torch.float32 and all(s.dtype == torch.float32 for s in steps)
    assert not torch.equal(out, reference)  # it did run in bf16 ...
    torch.testing.assert_close(out, reference, atol=0.05, rtol=0.02)  # ... and is close


def test_to_float32_keeps_other_values():
    data = {'a': torch.ones(2, dtype=torch.bfloat16), 'b': [torch.ones(1, dtype=torch.float16)],
            'i': torch.ones(1, dtype=torch.long), 'd': torch.ones(1, dtype=torch.float64),
            'meta': 'x'}
    out = to_float32(data)
    assert out['a'].dtype == out['b'][0].dtype == torch.float32
    assert out['i'].dtype == torch.long and out['d'].dtype == torch.float64
    assert out['meta'] == 'x'


def test_a_float32_island_computes_in_float32_under_autocast():
    """bmm would drop to bf16 under autocast, a mean of bf16 would stay bf16:
    inside an island both run in float32 on float32 copies of the inputs."""
    @float32_island
    def score(a, pair):
        return torch.bmm(a, pair[0]).mean() + pair[1].sum()

    a = torch.randn(2, 3, 4).to(torch.bfloat16)
    b = torch.randn(2, 4, 5).to(torch.bfloat16)
    c = torch.randn(7).to(torch.bfloat16)
    reference = torch.bmm(a.float(), b.float()).mean() + c.float().sum()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        plain = torch.bmm(a.float(), b.float())
        result = score(a, (b, c))
    assert plain.dtype == torch.bfloat16  # what autocast alone would do
    assert result.dtype == torch.float32
    torch.testing.assert_close(result, reference, atol=1e-6, rtol=1e-6)


# ---------------------------------------------------------------- run config

def test_apply_precision_switches_optimisers_and_loops_to_bf16():
    cfg = Config(dict(optim_wrapper=dict(constructor='MultiOptimWrapperConstructor',
                                         generator=dict(optimizer=dict(type='Adam'))),
                      val_cfg=dict(), test_cfg=dict(type='TestLoop')))
    untouched = cfg.to_dict()
    apply_precision(cfg, FP32)
    assert cfg.to_dict() == untouched
    apply_precision(cfg, BF16)
    assert cfg.optim_wrapper.generator.type == 'BF16AutocastOptimWrapper'
    assert cfg.val_cfg.type == 'BF16ValLoop' and cfg.test_cfg.type == 'BF16TestLoop'


def test_apply_precision_refuses_to_replace_a_custom_loop():
    cfg = Config(dict(val_cfg=dict(type='MyValLoop'), test_cfg=None))
    with pytest.raises(ValueError, match='val_cfg.*MyValLoop'):
        apply_precision(cfg, BF16)


def test_record_keeps_one_entry_a_stage(tmp_path):
    record_precision(Precision('bf16', 'trained in bf16'), tmp_path, 'train')
    path = record_precision(Precision('fp32', 'tested in fp32'), tmp_path, 'test')
    assert path == str(tmp_path / PRECISION_FILE)
    assert json.loads((tmp_path / PRECISION_FILE).read_text()) == {
        'train': {'precision': 'bf16', 'reason': 'trained in bf16'},
        'test': {'precision': 'fp32', 'reason': 'tested in fp32'}}


# ---------------------------------------------------------------- val/test loops

class ConvTranslator(BaseModel):
    """One conv; records the dtype its conv computes in."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 1, 3, padding=1)
        self.conv_dtypes = []
        self.conv.register_forward_hook(lambda m, i, out: self.conv_dtypes.append(out.dtype))

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return self.conv(inputs)

    def val_step(self, data):
        return [{'pred': pred} for pred in self.conv(data['source'])]

    test_step = val_step


class DtypeMetric(BaseMetric):
    """Records the dtype of the predictions it gets and whether autocast was on."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def process(self, data_batch, data_samples):
        for sample in data_samples:
            self.seen.append((sample['pred'].dtype, torch.is_autocast_enabled('cpu')))
            self.results.append(0.0)

    def compute_metrics(self, results):
        return {'count': len(results)}


@pytest.mark.parametrize('stage', ['val', 'test'])
@pytest.mark.parametrize('precision, conv_dtype', [(BF16, torch.bfloat16),
                                                    (FP32, torch.float32)], ids=['bf16', 'fp32'])
def test_val_and_test_loops_run_the_model_in_the_precision_and_score_float32(
        tmp_path, stage, precision, conv_dtype):
    cfg = Config({f'{stage}_cfg': dict()})
    apply_precision(cfg, precision)
    model, metric = ConvTranslator(), DtypeMetric()
    images = [{'source': torch.randn(1, 8, 8)} for _ in range(3)]
    loader = dict(dataset=images, batch_size=2, collate_fn=dict(type='default_collate'),
                  sampler=dict(type='DefaultSampler', shuffle=False))
    runner = Runner(model=model, work_dir=str(tmp_path), default_scope='fgsb',
                    experiment_name=f'{stage}_loop_{precision.name}',
                    **{f'{stage}_dataloader': loader, f'{stage}_evaluator': Evaluator(metric),
                       f'{stage}_cfg': cfg[f'{stage}_cfg'].to_dict()})
    assert getattr(runner, stage)() == {'count': 3}
    assert model.conv_dtypes == [conv_dtype, conv_dtype]
    # the evaluator gets float32, outside autocast
    assert metric.seen == [(torch.float32, False)] * 3


def run_script(monkeypatch, tool, *args):
    """``tools/<tool>.py args`` run as a user would, to its normal end."""
    monkeypatch.setattr(sys, 'argv', [f'tools/{tool}.py', *map(str, args)])
    runpy.run_path(str(ROOT / 'tools' / f'{tool}.py'), run_name='__main__')


def test_train_and_test_tools_apply_record_and_log_the_precision(prepared_root, tmp_path,
                                                                 monkeypatch):
    work = tmp_path / 'work'
    cfg = tiny_iteration_config(ROOT / PIX2PIX[0], prepared_root, work, max_iters=1)
    config = tmp_path / 'tiny.py'
    cfg.dump(str(config))
    run_script(monkeypatch, 'train', config, '--amp')  # the deprecated spelling of bf16
    record = json.loads((work / PRECISION_FILE).read_text())
    assert list(record) == ['train'] and record['train']['precision'] == 'bf16'
    log = next(work.glob('*/*.log')).read_text()
    assert f"precision: bf16 ({record['train']['reason']})" in log

    cfg.precision = 'bf16'  # the config key, no flag
    cfg.dump(str(config))
    run_script(monkeypatch, 'test', config, work / 'iter_1.pth', '--out', tmp_path / 'm.json')
    record = json.loads((work / PRECISION_FILE).read_text())
    assert record['train']['precision'] == record['test']['precision'] == 'bf16'
    assert json.loads((tmp_path / 'm.json').read_text())['PSNR']['mean'] > 0

    cfg.precision = 'half'
    cfg.dump(str(config))
    message = run_tool(monkeypatch, 'test', config, work / 'iter_1.pth')
    assert message.startswith('error: ') and 'precision' in message and "'half'" in message
    assert '\n' not in message


# ---------------------------------------------------------------- fp32 islands

def bf16_randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed)).to(torch.bfloat16)


def unit_bf16(*shape, seed=0):
    return F.normalize(bf16_randn(*shape, seed=seed).float(), dim=-1).to(torch.bfloat16)


LOSSES = {
    'gan lsgan': (GANLoss('lsgan'), lambda: (bf16_randn(2, 1, 6, 6), True)),
    'gan hinge': (GANLoss('hinge'), lambda: (bf16_randn(2, 1, 6, 6), False, True)),
    'gan vanilla': (GANLoss('vanilla'), lambda: (bf16_randn(2, 1, 6, 6), True)),
    'l1': (L1Loss(), lambda: (bf16_randn(2, 1, 8, 8), bf16_randn(2, 1, 8, 8, seed=1))),
    'l1 weighted': (L1Loss(), lambda: (bf16_randn(2, 1, 8, 8), bf16_randn(2, 1, 8, 8, seed=1),
                                       bf16_randn(2, 1, 8, 8, seed=2).abs())),
    'patch nce': (PatchNCELoss(), lambda: ([unit_bf16(2, 16, 8), unit_bf16(2, 9, 4, seed=1)],
                                           [unit_bf16(2, 16, 8, seed=2),
                                            unit_bf16(2, 9, 4, seed=3)])),
    'sb (MI logsumexp)': (SchrodingerBridgeLoss(tau=0.5, num_steps=5),
                          lambda: (bf16_randn(2, 1, 5, 5) * 4, bf16_randn(2, 1, 5, 5, seed=1) * 4,
                                   2, bf16_randn(2, 2, 8, 8, seed=2),
                                   bf16_randn(2, 2, 8, 8, seed=3))),
    'mi estimator (logsumexp)': (MIEstimatorLoss(), lambda: (bf16_randn(2, 1, 5, 5) * 4,
                                                            bf16_randn(2, 1, 5, 5, seed=1) * 4)),
    'ssl': (SSLReconstructionLoss(), lambda: (bf16_randn(2, 1, 8, 8),
                                              bf16_randn(2, 1, 8, 8, seed=1),
                                              bf16_randn(2, 1, 4, 4, seed=2),
                                              bf16_randn(2, 1, 4, 4, seed=3))),
}


@pytest.mark.parametrize('name', list(LOSSES))
def test_losses_compute_in_float32_under_bf16_autocast(name):
    """bf16 inputs (what bf16 networks give a loss), bf16 autocast on: the loss
    is float32 and equals the float32 loss of the same (bf16-exact) values."""
    loss, make_args = LOSSES[name]
    args = make_args()
    reference = loss(*to_float32(args))
    assert reference.dtype == torch.float32
    with torch.autocast('cpu', dtype=torch.bfloat16):
        result = loss(*args)
    assert result.dtype == torch.float32
    torch.testing.assert_close(result, reference, rtol=1e-6, atol=1e-6)


def test_the_mi_logsumexp_in_bf16_would_be_off():
    """What the island prevents: logsumexp of bf16 energies rounds to bf16
    (8 bits of mantissa), a relative error well above float32's."""
    energies = bf16_randn(256, seed=4) * 4
    exact = torch.logsumexp(energies.double(), dim=0)
    in_bf16 = torch.logsumexp(energies, dim=0)
    assert in_bf16.dtype == torch.bfloat16
    with torch.autocast('cpu', dtype=torch.bfloat16):
        island = MIEstimatorLoss()(torch.zeros(1, dtype=torch.bfloat16), energies)
    lse = exact.item()
    assert island.item() == pytest.approx(lse + lse ** 2, rel=1e-6)
    assert abs(in_bf16.double() - exact).item() > 1e-4 * abs(lse)


@pytest.mark.parametrize('norm', ['batch', 'instance'])
def test_norm_kernels_accumulate_statistics_in_float32_under_bf16_autocast(norm):
    """bf16 in, bf16 out, statistics from a float32 accumulator: the output has
    unit variance (a bf16 accumulator, 8 significant bits, would not) and
    matches the float32 computation on the same input to about one bf16 step
    of the output (1/64 near 2-4). The mean offset is twice the spread, as
    conv activations have; instance norm's kernel rounds the mean to bf16, so
    its error grows with offset / spread (docs/benchmarks.md)."""
    torch.manual_seed(0)
    x = (1 + 0.5 * torch.randn(3, 4, 16, 16)).to(torch.bfloat16)
    layer, reference = make_norm(norm, 4), make_norm(norm, 4)
    reference.load_state_dict(layer.state_dict())
    expected = reference(x.float())
    with torch.autocast('cpu', dtype=torch.bfloat16):
        result = layer(x)
    assert result.dtype == torch.bfloat16
    torch.testing.assert_close(result.float(), expected, atol=2 / 64, rtol=0)
    dims = (0, 2, 3) if norm == 'batch' else (2, 3)
    variance = torch.var(result.float(), dim=dims, unbiased=False)
    torch.testing.assert_close(variance, torch.ones_like(variance), atol=0.01, rtol=0)
    if norm == 'batch':
        assert layer.running_mean.dtype == torch.float32
        torch.testing.assert_close(layer.running_mean, reference.running_mean)
        torch.testing.assert_close(layer.running_var, reference.running_var)


# ---------------------------------------------------------------- training

PIX2PIX = ('configs/pix2pix/pix2pix_phantom_2subj.py',
           {'model.generator.num_downs': 5, 'model.generator.ngf': 8,
            'model.discriminator.ndf': 8})
FGSB = ('configs/fgsb/fgsb_phantom_2subj.py',
        {'model.generator.ngf': 8, 'model.generator.n_blocks': 2,
         'model.nce_layers': [0, 4, 8, 10, 11], 'model.num_patches': 16,
         'model.discriminator.ndf': 8, 'model.mi_estimator.ndf': 8,
         'model.guidance_anneal': None})  # annealing reads the Runner's progress
LOSS_MODULES = ('gan_loss', 'rec_loss', 'nce_loss', 'sb_loss', 'estimator_loss', 'ssl_loss')


def model_and_optimisers(config, overrides, precision):
    """The config's model and optimisers at a tiny size, after ``apply_precision``."""
    cfg = Config.fromfile(str(ROOT / config))
    cfg.merge_from_dict(overrides)
    apply_precision(cfg, precision)
    with DefaultScope.overwrite_default_scope('fgsb'):
        model = MODELS.build(cfg.model)
        return model, build_optim_wrapper(model, cfg.optim_wrapper)


def record_dtypes(model):
    """The output dtype of the generator's first conv, of every norm layer
    and of every loss module, call by call."""
    seen = {'conv': [], 'norm': [], 'loss': []}

    def recorder(kind):
        return lambda module, inputs, output: seen[kind].append(output.dtype)
    first_conv = next(m for m in model.generator.modules() if isinstance(m, torch.nn.Conv2d))
    first_conv.register_forward_hook(recorder('conv'))
    for module in model.modules():
        if isinstance(module, (torch.nn.BatchNorm2d, torch.nn.InstanceNorm2d)):
            module.register_forward_hook(recorder('norm'))
    for name in LOSS_MODULES:
        if getattr(model, name, None) is not None:
            getattr(model, name).register_forward_hook(recorder('loss'))
    return seen


def tiny_batch(size=32):
    g = torch.Generator().manual_seed(1)
    return {'source': torch.rand(2, 1, size, size, generator=g) * 2 - 1,
            'target': torch.rand(2, 1, size, size, generator=g) * 2 - 1,
            'meta': [{}, {}]}


@pytest.mark.parametrize('config, overrides', [PIX2PIX, FGSB], ids=['pix2pix', 'fgsb'])
@pytest.mark.parametrize('precision, conv_dtype', [(BF16, torch.bfloat16),
                                                    (FP32, torch.float32)], ids=['bf16', 'fp32'])
def test_a_train_step_runs_in_the_precision_with_float32_islands(config, overrides, precision,
                                                                 conv_dtype):
    model, optim = model_and_optimisers(config, overrides, precision)
    wrapper_types = {type(w).__name__ for w in optim.values()}
    assert wrapper_types == {'BF16AutocastOptimWrapper' if precision.is_bf16 else 'OptimWrapper'}
    seen = record_dtypes(model)
    before = [p.detach().clone() for p in model.generator.parameters()]
    log_vars = model.train_step(tiny_batch(), optim)

    assert seen['conv'] and set(seen['conv']) == {conv_dtype}
    assert seen['norm'] and set(seen['norm']) == {conv_dtype}
    assert seen['loss'] and set(seen['loss']) == {torch.float32}
    assert all(torch.isfinite(torch.tensor(v)) for v in log_vars.values())
    after = list(model.generator.parameters())
    assert all(p.dtype == torch.float32 for p in after)  # weights stay float32
    assert any(not torch.equal(b, a) for b, a in zip(before, after))


# ---------------------------------------------------------------- synthesis

def tiny_volume(shape=(24, 20, 6)):
    """An ellipsoid 'brain' with some texture, and its mask."""
    grid = np.stack(np.meshgrid(*[np.linspace(-1, 1, n) for n in shape], indexing='ij'))
    brain = (grid[0] / 0.8) ** 2 + (grid[1] / 0.7) ** 2 + (grid[2] / 1.2) ** 2 < 1
    texture = np.sin(4 * grid[0]) * np.cos(3 * grid[1])
    data = np.where(brain, 1.0 + 0.4 * texture, 0.0).astype(np.float32)
    return nib.Nifti1Image(data, np.eye(4)), brain


@pytest.mark.parametrize('config, overrides', [PIX2PIX, FGSB], ids=['pix2pix', 'fgsb'])
def test_bf16_synthesis_is_float32_and_close_to_fp32(config, overrides):
    """Random weights at 32 px: the bf16 volume against the fp32 one of the same
    seed. FGSB's bf16 difference must stay well inside its seed spread (the
    fp32 volumes of two seeds); deterministic Pix2Pix has none, so a bound."""
    model, _ = model_and_optimisers(config, overrides, FP32)
    model.eval()
    seen = record_dtypes(model)
    cfg = Config.fromfile(str(ROOT / config))
    cfg.merge_from_dict({'test_dataloader.dataset.size': 32})
    settings = synthesis_settings(cfg)
    image, brain = tiny_volume()

    def synthesise(precision, seed=3):
        return synthesize_volume(model, image, seed=seed, batch_size=4, brain_mask=brain,
                                 settings=settings, precision=precision).synthetic
    fp32, bf16, other_seed = synthesise(FP32), synthesise(BF16), synthesise(FP32, seed=4)
    assert set(seen['conv']) == {torch.float32, torch.bfloat16}  # both ran
    assert set(seen['norm']) == {torch.float32, torch.bfloat16}
    assert bf16.dtype == fp32.dtype == np.float32 and bf16.shape == fp32.shape
    assert np.all(bf16[~brain] == 0)
    difference = np.abs(bf16 - fp32)[brain]
    assert difference.mean() > 0  # bf16 did change the numbers
    if model.is_stochastic:
        spread = np.abs(other_seed - fp32)[brain]
        assert difference.mean() < 0.5 * spread.mean() and difference.max() < spread.max()
    else:
        assert difference.max() < 1e-3  # on the [0, 1] output scale
