"""SynDiff: the diffusion schedule and posterior (hand-computed values and a
seeded statistical check), the networks, one training step, the inference
chain's generator calls, resume and the test/synthesis tools."""
import copy
import json
import math
import runpy
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch
from mmengine.logging import MessageHub
from torch import nn

import fgsb.engine  # noqa: F401
import fgsb.models  # noqa: F401
from fgsb.engine.optim_wrapper_constructor import MultiOptimWrapperConstructor
from fgsb.models.networks import NCSNppGenerator, TimeConditionalPairDiscriminator
from fgsb.registry import MODELS
from fgsb.samplers import (AdversarialDiffusionSampler, posterior_coefficients, step_betas,
                           vp_alpha_bars)
from fgsb.samplers.diffusion_schedule import inference_states
from conftest import TINY_SYNDIFF_NETWORKS, tiny_iteration_config, write_prepared_root
from test_training_resume import StopAfterIteration, assert_bit_identical, final_weights, run

ROOT = Path(__file__).resolve().parents[1]
SYNDIFF = ROOT / 'configs/syndiff/syndiff_phantom_2subj.py'

# T = 4, beta_min 0.1, beta_max 20, t_min 1e-3: t_i = [0.001, 0.25075, 0.5005,
# 0.75025, 1], alpha_bar_k = exp(-9.95 (t_k^2 - t_0^2) - 0.1 (t_k - t_0))
ALPHA_BARS = [1.0, 0.521744697, 0.07867596759, 0.003428878902, 4.319049759e-05]
BETAS = [0.478255303, 0.8492060043, 0.9564177092, 0.9874039012]
# (c_x0, c_xk, variance) of q(x_{k-1} | x_k, x_0), k = 1..4
POSTERIOR = [(1.0, 0.0, 0.0), (0.665778365, 0.2015762767, 0.4408191479),
             (0.2691908894, 0.1930008089, 0.8842024436),
             (0.05782154212, 0.111852343, 0.9840607148)]


def tiny_syndiff(**overrides):
    cfg = dict(type='SynDiff',
               generator=dict(type='NCSNppGenerator', **TINY_SYNDIFF_NETWORKS['generator'],
                              z_dim=8),
               discriminator=dict(type='TimeConditionalPairDiscriminator',
                                  **TINY_SYNDIFF_NETWORKS['discriminator']))
    cfg.update(overrides)
    return MODELS.build(cfg)


def optim_for(model):
    adam = dict(optimizer=dict(type='Adam', lr=1e-3, betas=(0.5, 0.9)))
    return MultiOptimWrapperConstructor({'generator': adam, 'discriminator': adam})(model)


def batch(size=32, batch_size=2):
    g = torch.Generator().manual_seed(1)
    return {'source': torch.rand(batch_size, 1, size, size, generator=g) * 2 - 1,
            'target': torch.rand(batch_size, 1, size, size, generator=g) * 2 - 1,
            'meta': [{}] * batch_size}


# ------------------------------------------------------------------ schedule

def test_schedule_coefficients_for_four_steps_match_hand_computed_values():
    alpha_bars = vp_alpha_bars(4)
    first = math.exp(-0.5 * 19.9 * (0.25075 ** 2 - 0.001 ** 2) - 0.1 * (0.25075 - 0.001))
    assert alpha_bars[1].item() == pytest.approx(first, rel=1e-12)
    assert alpha_bars.tolist() == pytest.approx(ALPHA_BARS, rel=1e-8)
    assert step_betas(alpha_bars).tolist() == pytest.approx(BETAS, rel=1e-8)
    k = torch.arange(1, 5)
    coefficients = torch.stack(posterior_coefficients(alpha_bars, k, k - 1), dim=1)
    assert coefficients.tolist() == [pytest.approx(row, abs=1e-9) for row in POSTERIOR]
    # the jump to x_0 is the point x0; one step back is DDPM's posterior
    assert [c.item() for c in posterior_coefficients(alpha_bars, 3, 0)] == [1.0, 0.0, 0.0]
    with pytest.raises(ValueError, match='0 <= j < k <= 4'):
        posterior_coefficients(alpha_bars, 2, 2)
    with pytest.raises(ValueError, match='beta_min < beta_max'):
        vp_alpha_bars(4, beta_min=1.0, beta_max=0.5)


def test_inference_states_spread_the_calls_from_T_down_to_1():
    assert inference_states(4, 4) == [4, 3, 2, 1]
    assert inference_states(4, 2) == [4, 1]
    assert inference_states(4, 1) == [4]
    with pytest.raises(ValueError, match='nfe must lie in 1..4'):
        inference_states(4, 5)


def test_posterior_is_the_conditional_of_the_forward_pair():
    """Draw many forward pairs (x_{k-1}, x_k) from one x_0: regressing x_{k-1}
    on x_k gives the posterior's coefficients, its residual the variance;
    a posterior sample has that mean and variance."""
    sampler = AdversarialDiffusionSampler(num_steps=4)
    g = torch.Generator().manual_seed(0)
    n = 400_000
    x0 = torch.full((1, 1, 800, n // 800), 0.3, dtype=torch.float64)
    for k, (c_x0, c_xk, variance) in enumerate(POSTERIOR[1:], start=2):
        x_prev, x_k = (v.flatten() for v in sampler.q_sample_pair(x0, k, g))
        # marginals of q(x_k | x_0)
        assert x_k.mean().item() == pytest.approx(math.sqrt(ALPHA_BARS[k]) * 0.3, abs=5e-3)
        assert x_k.var().item() == pytest.approx(1 - ALPHA_BARS[k], abs=6e-3)
        slope = torch.cov(torch.stack([x_prev, x_k]))[0, 1] / x_k.var()
        intercept = x_prev.mean() - slope * x_k.mean()
        residual = (x_prev - intercept - slope * x_k).var()
        assert slope.item() == pytest.approx(c_xk, abs=5e-3)
        assert intercept.item() == pytest.approx(c_x0 * 0.3, abs=5e-3)
        assert residual.item() == pytest.approx(variance, abs=5e-3)

        x_k = torch.full_like(x0, -0.7)
        mean, var = sampler.posterior_mean_variance(x0, x_k, k)
        assert mean.flatten()[0].item() == pytest.approx(c_x0 * 0.3 - c_xk * 0.7, abs=1e-9)
        assert var.item() == pytest.approx(variance, abs=1e-9)
        draws = sampler.posterior_sample(x0, x_k, k, generator=g)
        assert draws.mean().item() == pytest.approx(c_x0 * 0.3 - c_xk * 0.7, abs=5e-3)
        assert draws.var().item() == pytest.approx(variance, abs=5e-3)
    # k = 1: the posterior is the point x_0
    assert torch.equal(sampler.posterior_sample(x0, torch.zeros_like(x0), 1), x0)


def test_states_are_per_sample():
    sampler = AdversarialDiffusionSampler(num_steps=4)
    x = torch.zeros(2, 1, 4, 4)
    _, var = sampler.posterior_mean_variance(x, x, torch.tensor([2, 4]))
    assert var.flatten().tolist() == pytest.approx([POSTERIOR[1][2], POSTERIOR[3][2]])
    k = sampler.draw_states(1000, generator=torch.Generator().manual_seed(0))
    assert sorted(k.unique().tolist()) == [1, 2, 3, 4]


class RecordingGenerator(nn.Module):
    """Predicts a fixed function of the source; records every call's step indices."""
    z_dim = 3

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(0.5))
        self.calls = []

    def forward(self, x, t_idx, z):
        assert x.shape[1] == 2 and z.shape == (x.shape[0], 3)
        self.calls.append(t_idx.tolist())
        return torch.tanh(self.scale * x[:, 1:])


@pytest.mark.parametrize('nfe, steps', [(None, [3, 2, 1, 0]), (2, [3, 0]), (1, [3])])
def test_inference_makes_exactly_the_configured_generator_calls(nfe, steps):
    sampler = AdversarialDiffusionSampler(num_steps=4)
    G = RecordingGenerator()
    source = torch.randn(2, 1, 8, 8)
    final, predictions = sampler.sample(G, source, nfe, return_intermediates=True)
    assert G.calls == [[s, s] for s in steps]
    assert len(predictions) == len(steps)
    # the last call lands on x_0: the output is its prediction
    assert torch.equal(final, torch.tanh(0.5 * source))
    assert G.training and G.scale.grad is None


# ------------------------------------------------------------------ networks

def test_paper_scale_networks_match_the_papers_parameter_count():
    # Table 6: SynDiff 67.46 M = the NCSN++ generator + the pair discriminator
    count = lambda net: sum(p.numel() for p in net.parameters())
    total = count(NCSNppGenerator()) + count(TimeConditionalPairDiscriminator())
    assert round(total / 1e6, 2) == 67.46


def test_networks_shapes_and_errors():
    G = NCSNppGenerator(ngf=8, ch_mult=(1, 2), num_res_blocks=1, attention_levels=(1,),
                        z_dim=4, z_emb_dim=16)
    x, t = torch.randn(2, 2, 16, 16), torch.tensor([0, 3])
    y = G(x, t, torch.randn(2, 4))
    assert y.shape == (2, 1, 16, 16) and y.abs().max() <= 1
    with pytest.raises(ValueError, match='divisible by 2'):
        G(torch.randn(1, 2, 15, 16), t[:1], torch.randn(1, 4))
    with pytest.raises(ValueError, match=r'\(B, 2, H, W\)'):
        G(torch.randn(1, 1, 16, 16), t[:1], torch.randn(1, 4))
    D = TimeConditionalPairDiscriminator(ndf=8, n_layers=3, t_emb_dim=16)
    assert D(torch.randn(6, 2, 16, 16), torch.zeros(6, dtype=torch.long)).shape == (6, 1)
    with pytest.raises(ValueError, match='divisible by 8'):
        D(torch.randn(1, 2, 12, 16), t[:1])


# ------------------------------------------------------------------ model

def test_one_step_moves_generator_and_discriminator_and_nothing_else():
    model = tiny_syndiff(r1_interval=1)  # R1 whatever the message hub's iteration
    optim = optim_for(model)
    assert {name.split('.')[0] for name, _ in model.named_parameters()} == \
        {'generator', 'discriminator'}
    before = copy.deepcopy(model.state_dict())
    schedule = model.sampler.alpha_bars.clone()
    counts = {'generator': 0, 'discriminator': 0}
    for name in counts:
        next(getattr(model, name).parameters()).register_hook(
            lambda grad, name=name: counts.__setitem__(name, counts[name] + 1))
    log_vars = model.train_step(batch(), optim)

    assert set(log_vars) == {'loss_d', 'loss_d_real', 'loss_d_fake', 'loss_d_r1', 'loss_g',
                             'loss_g_adv', 'loss_g_rec'}
    assert all(math.isfinite(v) for v in log_vars.values())
    for name in counts:
        after = getattr(model, name).state_dict()
        assert any(not torch.equal(before[f'{name}.{k}'], v) for k, v in after.items()), name
        for param in getattr(model, name).parameters():
            assert param.requires_grad and (param.grad is None or not param.grad.any())
    # D only in its own update (G's update reads it frozen), G only in its own
    assert counts == {'generator': 1, 'discriminator': 1}
    assert torch.equal(model.sampler.alpha_bars, schedule)


class LinearCritic(nn.Module):
    """D(pair) = sum(a * x_{k-1}): the R1 penalty is gamma / 2 * sum(a^2)."""

    def __init__(self, size):
        super().__init__()
        self.a = nn.Parameter(torch.linspace(-1, 1, size * size).view(1, 1, size, size))

    def forward(self, pair, t_idx):
        return (self.a * pair[:, :1]).sum(dim=(1, 2, 3))[:, None]


def test_r1_penalty_value_and_interval_follow_the_runners_iteration():
    model = tiny_syndiff(r1_weight=2.0, r1_interval=3)
    model.discriminator = LinearCritic(32)
    expected = 2.0 / 2 * model.discriminator.a.square().sum().item()
    optim = optim_for(model)
    hub = MessageHub.get_current_instance()
    try:
        hub.update_info('iter', 6)
        assert model.train_step(batch(), optim)['loss_d_r1'] == pytest.approx(expected)
        hub.update_info('iter', 7)
        assert 'loss_d_r1' not in model.train_step(batch(), optim)
    finally:
        hub.update_info('iter', 0)


def test_inference_interface_and_config_checks():
    model = tiny_syndiff().eval()
    assert model.num_steps == 4 and model.is_stochastic and model.source_channels == 1
    calls = []
    model.generator.register_forward_hook(lambda *args: calls.append(1))
    source = torch.rand(2, 1, 32, 32) * 2 - 1
    final, steps = model.translate(source, return_steps=True)
    assert len(calls) == 4 and len(steps) == 4 and torch.equal(final, steps[-1])
    one = model.translate(source, generator=torch.Generator().manual_seed(5))
    again = model.translate(source, generator=torch.Generator().manual_seed(5))
    assert torch.equal(one, again)
    with pytest.raises(ValueError, match='nfe must be an integer from 1 to 4'):
        model.translate(source, nfe=5)
    mean, spread = model.sample_many(source, 3)
    assert mean.shape == source.shape and spread.shape == source.shape
    with pytest.raises(ValueError, match='generator.in_channels=2'):
        tiny_syndiff(generator=dict(type='NCSNppGenerator', in_channels=1, ngf=8))


# ------------------------------------------------------- runner and tools

def test_killed_and_resumed_run_ends_bit_identical(prepared_root, tmp_path):
    """R1 every 2 iterations: the resumed run must read the runner's
    iteration, not restart a count of its own."""
    def config(work):
        cfg = tiny_iteration_config(SYNDIFF, prepared_root, work, 3)
        cfg.model.r1_interval = 2
        return cfg

    uninterrupted, _ = run(config(tmp_path / 'a'))
    work = tmp_path / 'b'
    with pytest.raises(KeyboardInterrupt):
        run(config(work), hooks=[StopAfterIteration(1)])
    resumed, start = run(config(work), resume_from='auto')
    assert start['iter'] == 1 and resumed.iter == 3
    assert_bit_identical(final_weights(resumed), final_weights(uninterrupted))


def run_script(monkeypatch, tool, *args):
    monkeypatch.setattr(sys, 'argv', [f'tools/{tool}.py', *map(str, args)])
    runpy.run_path(str(ROOT / 'tools' / f'{tool}.py'), run_name='__main__')


def test_test_and_synthesize_tools_run_unchanged(tmp_path, monkeypatch):
    root = write_prepared_root(tmp_path / 'prepared')
    work = tmp_path / 'work'
    cfg = tiny_iteration_config(SYNDIFF, root, work, 1)
    run(cfg)
    config = tmp_path / 'tiny.py'
    cfg.dump(str(config))
    checkpoint = work / 'iter_1.pth'
    metrics = tmp_path / 'metrics.json'
    run_script(monkeypatch, 'test', config, checkpoint, '--out', metrics)
    scores = json.loads(metrics.read_text())
    assert scores['nfe'] == 4 and math.isfinite(scores['PSNR']['mean'])

    out, std = tmp_path / 'syn' / 't2.nii.gz', tmp_path / 'syn' / 't2_std.nii.gz'
    run_script(monkeypatch, 'synthesize', config, checkpoint, '--input',
               root / 'sub_03' / 't1.nii.gz', '--output', out, '--samples', 3,
               '--uncertainty', std, '--device', 'cpu')
    spread = np.asarray(nib.load(str(std)).dataobj)
    assert spread.shape == nib.load(str(root / 'sub_03' / 't1.nii.gz')).shape
    assert spread.max() > 0  # three different draws


def load_tool(name):
    return runpy.run_path(str(ROOT / 'tools' / f'{name}.py'), run_name=f'fgsb_tool_{name}')


TINY_OPTIONS = [f'model.{name}.{key}={value}'.replace(' ', '')
                for name, sizes in TINY_SYNDIFF_NETWORKS.items() for key, value in sizes.items()]


def test_analyze_complexity_reports_the_model_beside_table_6(tmp_path, capsys):
    # the paper-scale numbers (docs/extending.md) come from the same code at
    # 256x256; tiny networks here keep the test fast
    out = tmp_path / 'complexity.json'
    result = load_tool('analyze_complexity')['main'](
        [str(ROOT / 'configs/_base_/models/syndiff.py'), '--shape', '32', '32',
         '--out', str(out), '--cfg-options', *TINY_OPTIONS])
    networks = result['networks']
    assert set(networks) == {'generator', 'discriminator'}
    assert result['model']['params_m'] == pytest.approx(
        networks['generator']['params_m'] + networks['discriminator']['params_m'], abs=1e-3)
    # inference: T = 4 generator calls
    assert result['model']['nfe'] == 4
    assert result['model']['gflops_inference'] == pytest.approx(
        4 * networks['generator']['gflops'], rel=0.01)
    assert json.loads(out.read_text())['paper_table_6'] == {'params_m': 67.46,
                                                            'gflops': 147.36}
    assert 'the paper (Table 6)' in capsys.readouterr().out


def test_benchmark_times_a_train_step():
    result = load_tool('benchmark')['main'](
        [str(SYNDIFF), '--mode', 'train', '--iters', '1', '--warmup', '0', '--shape', '32',
         '32', '--loader-batches', '0', '--no-memory', '--threads', '1', '--precision',
         'fp32', '--cfg-options', *TINY_OPTIONS])
    assert list(result['variants']) == ['default']
    assert result['variants']['default']['iters'] == 1 and result['s_per_iter_median'] > 0
