"""tools/analyze_complexity.py, tools/benchmark.py and the straightforward FGSB step.

The straightforward step (``fgsb.benchmarking.straightforward_step``)
exists to be measured against FGSB's fast ``train_step``, so the fast path
must do the same maths: with every random draw taken out (z without effect,
no bridge noise, fixed patches, pinned k) both give the same losses and the
same updated weights, with fewer generator calls on the fast path.
"""
import copy
import json
import runpy
import sys
from pathlib import Path

import pytest
import torch

import fgsb.engine  # noqa: F401
import fgsb.models  # noqa: F401
import fgsb.benchmarking.straightforward_step as straightforward_module
import fgsb.models.algorithms.fgsb as fgsb_module
from fgsb.benchmarking import BenchmarkSettings, Variant, format_table
from fgsb.benchmarking.straightforward_step import straightforward_train_step
from fgsb.benchmarking.variants import chosen_variants, primary_variant
from fgsb.engine.precision import Precision
from fgsb.engine.optim_wrapper_constructor import MultiOptimWrapperConstructor
from fgsb.registry import MODELS
from conftest import TINY_PHANTOM

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / 'tools'
NETWORKS = ('generator', 'discriminator', 'mi_estimator', 'feature_mlp')


def load_tool(name):
    return runpy.run_path(str(TOOLS / f'{name}.py'), run_name=f'fgsb_tool_{name}')


# ------------------------------------------------------------ fast == baseline
def tiny_fgsb_with_ssl():
    model = MODELS.build(dict(
        type='FGSB',
        generator=dict(type='TimeConditionalResnetGenerator', ngf=8, n_blocks=2),
        discriminator=dict(type='SelfSupervisedDiscriminator', ndf=8, n_layers=3),
        mi_estimator=dict(type='MIEstimator', in_channels=4, ndf=8, n_layers=3),
        feature_mlp=dict(type='PatchSampleMLP', out_channels=16),
        sampler=dict(type='SchrodingerBridgeSampler', num_steps=5, tau=0.01,
                     guidance=dict(type='LinearGuidance')),
        ctx_loss=dict(type='PriorWeightedL1Loss', loss_weight=10.0),
        ssl_loss=dict(type='SSLReconstructionLoss', loss_weight=1.0),
        num_patches=16, nce_layers=(0, 4, 8, 10, 11)))
    return model


def zeros_instead_of_randn(*size, generator=None, device=None, dtype=None, **kwargs):
    """Every z and bridge noise 0: the two paths draw them in different orders."""
    return torch.zeros(*size, device=device, dtype=dtype)


def fixed_patch_ids(feats, num_patches, prior=None, prior_fraction=0.5, generator=None,
                    rest='uniform'):
    return [torch.arange(min(num_patches, f.shape[2] * f.shape[3])).repeat(f.shape[0], 1)
            for f in feats]


def sgd_for(model):
    """SGD with lr 1: each network's update is its gradient."""
    sgd = dict(optimizer=dict(type='SGD', lr=1.0))
    return MultiOptimWrapperConstructor({n: sgd for n in NETWORKS})(model)


def make_batch():
    g = torch.Generator().manual_seed(3)
    prior = torch.zeros(2, 1, 32, 32)
    prior[:, :, 8:16, 8:20] = 1
    return {'source': torch.rand(2, 1, 32, 32, generator=g) * 2 - 1,
            'target': torch.rand(2, 1, 32, 32, generator=g) * 2 - 1,
            'prior': prior, 'meta': [{}, {}]}


def count_generator_calls(model):
    counts = {'forward': 0, 'encode': 0}
    model.generator.register_forward_pre_hook(
        lambda *_: counts.__setitem__('forward', counts['forward'] + 1))
    encode = model.generator.encode

    def counting_encode(*args, **kwargs):
        counts['encode'] += 1
        return encode(*args, **kwargs)
    model.generator.encode = counting_encode
    return counts


def one_step(model, step):
    before = copy.deepcopy(model.state_dict())
    calls = count_generator_calls(model)
    torch.manual_seed(5)  # the SSL quadrant: the same draw on both paths
    logs = step(model, make_batch(), sgd_for(model))
    updates = {name: value - before[name] for name, value in model.state_dict().items()}
    return logs, updates, calls


STEP_INDEX = 2  # pinned: both paths run the chains to the same X_k


def fast_train_step(model, data, optim_wrapper):
    return model.train_step(data, optim_wrapper, step_index=STEP_INDEX)


def baseline_train_step(model, data, optim_wrapper):
    return straightforward_train_step(model, data, optim_wrapper, STEP_INDEX)


def test_fast_and_straightforward_steps_give_the_same_losses_and_gradients(monkeypatch):
    for module in (fgsb_module, straightforward_module):
        monkeypatch.setattr(module, 'sample_patch_ids', fixed_patch_ids)
    monkeypatch.setattr(torch, 'randn', zeros_instead_of_randn)
    fast = tiny_fgsb_with_ssl()
    baseline = copy.deepcopy(fast)

    fast_logs, fast_updates, fast_calls = one_step(fast, fast_train_step)
    baseline_logs, baseline_updates, baseline_calls = one_step(baseline, baseline_train_step)

    assert fast_logs.keys() == baseline_logs.keys()
    for name, value in fast_logs.items():
        assert value == pytest.approx(baseline_logs[name], rel=1e-5, abs=1e-6), name
    # Batched and separate convolutions sum in different orders, so compare
    # with 0.1 % of each network's largest gradient (a conv bias before
    # instance norm has a true gradient of 0 and only rounding noise).
    for network in NETWORKS:
        names = [n for n in fast_updates if n.startswith(network + '.')]
        scale = max(baseline_updates[n].abs().max().item() for n in names)
        assert scale > 0, f'{network} got no gradient'
        for name in names:
            error = (fast_updates[name] - baseline_updates[name]).abs().max().item()
            assert error <= 1e-3 * scale, (name, error, scale)
    # k = 2 and three chains: fast 2 chain calls + 1 with grad; baseline 3 * (2 + 1);
    # PatchNCE: fast keys + queries, baseline 2 terms * (key + query)
    assert fast_calls == {'forward': 3, 'encode': 2}
    assert baseline_calls == {'forward': 9, 'encode': 4}


def test_straightforward_step_trains_without_identity_and_nce(monkeypatch):
    """A UNSB-like model without the identity chain or PatchNCE: two chains."""
    monkeypatch.setattr(torch, 'randn', zeros_instead_of_randn)
    model = tiny_fgsb_with_ssl()
    model.identity, model.nce_loss = False, None
    fast_logs, _, fast_calls = one_step(copy.deepcopy(model), fast_train_step)
    logs, _, calls = one_step(model, baseline_train_step)
    assert 'loss_g_nce' not in logs and 'loss_g_idt_rec' not in logs
    assert logs.keys() == fast_logs.keys()
    for name, value in fast_logs.items():
        assert value == pytest.approx(logs[name], rel=1e-5, abs=1e-6), name
    assert calls == {'forward': 2 * (2 + 1), 'encode': 0}
    assert fast_calls == {'forward': 2 + 1, 'encode': 0}


# ------------------------------------------------------------ complexity tool
def test_analyze_complexity_matches_the_paper_scale_generator(tmp_path, capsys):
    tool = load_tool('analyze_complexity')
    out = tmp_path / 'complexity.json'
    result = tool['main']([str(ROOT / 'configs/_base_/models/fgsb_resnet.py'),
                           '--shape', '32', '32', '--out', str(out)])
    generator = result['networks']['generator']
    # ResNet-9, ngf 64, 1 channel: 13.42 M parameters and 48.86 GMACs at 256x256;
    # convolutions scale with the area, so 32x32 costs 1/64 of that.
    assert generator['params_m'] == pytest.approx(13.42, abs=0.005)
    assert generator['gflops'] == pytest.approx(48.86 / 64, rel=0.02)
    # inference is NFE = 5 generator calls; the model holds every network
    assert result['model']['nfe'] == 5
    assert result['model']['gflops_inference'] == pytest.approx(5 * generator['gflops'],
                                                                 rel=0.01)
    total = sum(result['networks'][n]['params_m'] for n in NETWORKS)
    assert result['model']['params_m'] == pytest.approx(total, abs=1e-3)
    assert json.loads(out.read_text())['networks']['generator'] == generator
    assert 'generator' in capsys.readouterr().out


def test_analyze_complexity_names_a_missing_config(tmp_path):
    tool = load_tool('analyze_complexity')
    with pytest.raises(SystemExit, match='nope.py'):
        tool['main']([str(tmp_path / 'nope.py'), '--shape', '32', '32'])


# ------------------------------------------------------------ benchmark tool
TINY_FGSB = ['model.generator.ngf=8', 'model.generator.n_blocks=2',
             'model.discriminator.ndf=8', 'model.mi_estimator.ndf=8',
             'model.nce_layers=[0,4,8,10,11]', 'model.num_patches=16']


def test_benchmark_times_fast_and_baseline_paths_in_one_run(tmp_path, capsys):
    tool = load_tool('benchmark')
    out = tmp_path / 'bench.json'
    result = tool['main']([str(ROOT / 'configs/fgsb/fgsb_phantom_2subj.py'),
                           '--mode', 'train', '--iters', '2', '--warmup', '0',
                           '--baseline', '--shape', '32', '32', '--loader-batches', '0',
                           '--no-memory', '--threads', '1', '--out', str(out),
                           '--precision', 'fp32', '--cfg-options', *TINY_FGSB])
    assert set(result['variants']) == {'fast', 'baseline'}
    assert result['primary_variant'] == 'fast'
    assert result['precision'] == {'precision': 'fp32', 'reason': 'fp32 was requested'}
    assert result['step_index'] == 2  # (T - 1) // 2 for T = 5
    fast, baseline = result['variants']['fast'], result['variants']['baseline']
    assert fast['iters'] == baseline['iters'] == 2
    assert fast['s_per_iter_min'] <= fast['s_per_iter_median'] <= fast['s_per_iter_max']
    assert result['images_per_s'] == pytest.approx(1 / fast['s_per_iter_median'], rel=1e-3)
    assert baseline['speedup_vs_baseline'] == 1.0
    assert fast['speedup_vs_baseline'] == pytest.approx(
        baseline['s_per_iter_median'] / fast['s_per_iter_median'], rel=1e-2)
    saved = json.loads(out.read_text())
    for key in ('images_per_s', 's_per_iter_median', 'peak_mem_mb'):
        assert key in saved
    assert 'baseline' in capsys.readouterr().out


def test_benchmark_inference_memory_and_loader(tmp_path, tiny_phantom):
    tool = load_tool('benchmark')
    dataset = 'train_dataloader.dataset.dataset'
    options = [f'{dataset}.data_root={tiny_phantom}', f'{dataset}.size=32',
               *[f'{dataset}.phantom.{k}={v}' for k, v in TINY_PHANTOM.items()],
               'model.generator.ngf=8', 'model.generator.num_downs=5',
               'model.discriminator.ndf=8']
    result = tool['main']([str(ROOT / 'configs/pix2pix/pix2pix_phantom_2subj.py'),
                           '--mode', 'infer', '--iters', '2', '--warmup', '1',
                           '--batch-size', '2', '--loader-batches', '3', '--threads', '1',
                           '--precision', 'fp32', '--cfg-options', *options])
    assert list(result['variants']) == ['default']
    assert result['images_per_s'] == pytest.approx(2 / result['s_per_iter_median'], rel=1e-3)
    # peak RSS of a process that imported torch and built the model: > 50 MB
    assert result['peak_mem_mb'] > 50
    loader = result['loader']
    assert loader['batches'] == 3 and loader['images_per_s'] > 0
    assert loader['batch_size'] == 1 and loader['dataset_length'] > 0


def test_benchmark_rejects_a_bad_step_index():
    tool = load_tool('benchmark')
    with pytest.raises(SystemExit, match=r'step-index must lie in 0\.\.4, got 9'):
        tool['main']([str(ROOT / 'configs/fgsb/fgsb_phantom_2subj.py'), '--iters', '1',
                      '--shape', '32', '32', '--step-index', '9', '--no-memory',
                      '--loader-batches', '0', '--cfg-options', *TINY_FGSB])


@pytest.mark.parametrize('option, message', [
    (['--batch-size', '0'], 'argument --batch-size: must be >= 1, got 0'),
    (['--shape', '0', '0'], 'argument --shape: must be >= 1, got 0'),
    (['--iters', '0'], 'argument --iters: must be >= 1, got 0'),
    (['--threads', 'two'], "argument --threads: invalid int value: 'two'"),
    (['--amp', '--precision', 'fp32'], '--amp times fp32 and bf16 both'),
])
def test_benchmark_refuses_bad_options_in_one_line(option, message, capsys):
    tool = load_tool('benchmark')
    with pytest.raises(SystemExit) as exit_info:
        tool['parse_args']([str(ROOT / 'configs/fgsb/fgsb_phantom_2subj.py'), *option])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and 'Traceback' not in err


def test_benchmark_names_an_image_too_small_for_the_networks():
    tool = load_tool('benchmark')
    with pytest.raises(SystemExit) as exit_info:
        tool['main']([str(ROOT / 'configs/fgsb/fgsb_phantom_2subj.py'), '--iters', '1',
                      '--warmup', '0', '--shape', '2', '2', '--no-memory',
                      '--loader-batches', '0', '--precision', 'fp32',
                      '--cfg-options', *TINY_FGSB])
    message = str(exit_info.value.code)
    assert message.startswith('error: ') and 'fgsb_phantom_2subj.py' in message
    assert 'iteration (fast) of batch 1 at 2x2 failed' in message
    assert '\n' not in message


def test_benchmark_names_a_missing_config(tmp_path):
    tool = load_tool('benchmark')
    with pytest.raises(SystemExit, match='nope.py: config file not found'):
        tool['main']([str(tmp_path / 'nope.py'), '--no-memory'])


# ------------------------------------------------------------ variants and table
class OneStepModel:
    """Stands for a model without a straightforward path (Pix2Pix)."""


BF16 = Precision('bf16', 'bf16 was requested')


@pytest.mark.parametrize('settings, names, primary', [
    (BenchmarkSettings(), ['fast'], 'fast'),
    (BenchmarkSettings(baseline=True), ['fast', 'baseline'], 'fast'),
    (BenchmarkSettings(baseline=True, mode='infer'), ['fast'], 'fast'),
    (BenchmarkSettings(precision=BF16), ['fast+bf16'], 'fast+bf16'),
    (BenchmarkSettings(precision=BF16, amp=True, baseline=True),
     ['fast', 'baseline', 'fast+bf16', 'baseline+bf16'], 'fast+bf16'),
])
def test_variants_follow_the_options(settings, names, primary):
    model = tiny_fgsb_with_ssl()
    variants, notes = chosen_variants(settings, model)
    assert [v.name for v in variants] == names
    assert primary_variant(settings, model).name == primary
    assert [Variant.from_name(name) for name in names] == variants
    assert notes == (['inference is the same on both paths; --baseline ignored']
                     if settings.mode == 'infer' else [])


def test_a_one_path_model_has_the_default_variant_only():
    settings = BenchmarkSettings(baseline=True, precision=BF16, amp=True)
    variants, notes = chosen_variants(settings, OneStepModel())
    assert [v.name for v in variants] == ['default', 'default+bf16']
    assert notes == ['OneStepModel has no baseline path; --baseline ignored']
    with pytest.raises(ValueError, match="unknown variant 'slow'"):
        Variant.from_name('slow')


def test_table_lists_every_variant_with_its_speed_up():
    row = dict(s_per_iter_median=2.0, s_per_iter_min=1.5, s_per_iter_max=3.0,
               images_per_s=0.5, cpu_s_per_iter_median=1.75)
    result = {'model_type': 'FGSB', 'mode': 'train', 'batch_size': 1, 'shape': [32, 48],
              'step_index': 2, 'env': {'device_name': 'Some CPU', 'threads': 1},
              'precision': {'precision': 'fp32', 'reason': 'fp32 was requested'},
              'variants': {'fast': dict(row, speedup_vs_baseline=2.5, peak_mem_mb=301.4),
                           'baseline': dict(row, speedup_vs_baseline=1.0)}}
    lines = format_table(result).splitlines()
    assert lines[0] == 'FGSB train, batch 1, 32x48, k=2, Some CPU, 1 threads'
    assert lines[1] == 'precision: fp32 (fp32 was requested)'
    assert lines[3].split() == ['fast', '2.000', '1.500', '3.000', '0.500', '2.50x', '1.750',
                                '301']
    assert lines[4].split() == ['baseline', '2.000', '1.500', '3.000', '0.500', '1.00x',
                                '1.750', '-']
