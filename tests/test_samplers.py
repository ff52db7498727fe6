"""Bridge maths of docs/method.md §1-4: time grid, step, guidance and the chains."""
import math

import pytest
import torch
from torch import nn

from fgsb.registry import GUIDANCE, SAMPLERS
from fgsb.samplers import (ConstantGuidance, CosineGuidance, LinearGuidance, ListGuidance,
                           SchrodingerBridgeSampler, annealed_guidance_scale,
                           bridge_coefficients, bridge_step, bridge_time_grid,
                           guided_prediction)


class ToyGenerator(nn.Module):
    """``G(x, t_idx, z) = fn(x, t_idx, z)`` that records how it was called."""

    def __init__(self, fn, z_dim=3):
        super().__init__()
        self.fn = fn
        self.z_dim = z_dim
        self.inner = nn.Linear(1, 1)  # a submodule, to check modes are restored
        self.calls = []

    def forward(self, x, t_idx, z):
        self.calls.append(dict(t_idx=t_idx.clone(), z_shape=tuple(z.shape),
                               training=self.training, inner_training=self.inner.training,
                               grad=torch.is_grad_enabled()))
        return self.fn(x, t_idx, z)


def per_sample_map(x, t_idx, z):
    """Deterministic, z-free, acts on each sample alone."""
    return torch.tanh(0.7 * x + 0.1 * t_idx.view(-1, 1, 1, 1).float())


# ------------------------------------------------------------------ time grid
def test_time_grid_matches_method_for_five_steps():
    grid = bridge_time_grid(5)
    assert grid.shape == (6,)
    assert torch.allclose(grid, torch.tensor([0, 0.5, 0.74, 0.86, 0.94, 1.0],
                                             dtype=torch.float64), atol=1e-12)


def test_bridge_coefficients_match_method_for_five_steps():
    grid = bridge_time_grid(5)
    rhos, variances = zip(*[bridge_coefficients(grid, j) for j in range(1, 6)])
    assert rhos == pytest.approx([0.5, 0.48, 0.4615, 0.5714, 1.0], abs=1e-3)
    assert variances == pytest.approx([0.25, 0.1248, 0.0646, 0.0343, 0.0], abs=1e-3)
    # exact values: j=3 is 0.12/0.26, j=4 is 0.08/0.14
    assert rhos[2] == pytest.approx(6 / 13) and rhos[3] == pytest.approx(4 / 7)


def test_time_grid_single_step_and_two_steps():
    assert bridge_time_grid(1).tolist() == [0.0, 1.0]
    assert bridge_coefficients(bridge_time_grid(1), 1) == (1.0, 0.0)
    assert bridge_time_grid(2).tolist() == pytest.approx([0.0, 0.5, 1.0])
    assert bridge_time_grid(3).tolist() == pytest.approx([0.0, 0.5, 5 / 6, 1.0])


@pytest.mark.parametrize('bad', [0, -1, 2.5])
def test_time_grid_rejects_bad_step_counts(bad):
    with pytest.raises(ValueError, match='num_steps'):
        bridge_time_grid(bad)


def test_bridge_coefficients_rejects_out_of_range_step():
    with pytest.raises(ValueError, match='1..5'):
        bridge_coefficients(bridge_time_grid(5), 0)


# -------------------------------------------------------------- step, guidance
def test_bridge_step_and_guided_prediction_by_hand():
    x, y = torch.tensor([2.0]), torch.tensor([4.0])
    assert bridge_step(x, y, 0.25, 0.04, torch.tensor([1.0])).item() == pytest.approx(2.7)
    assert bridge_step(x, y, 0.25, 0.04).item() == pytest.approx(2.5)
    guided = guided_prediction(torch.tensor([4.0]), torch.tensor([-2.0]), 0.75)
    assert guided.item() == pytest.approx(0.75 * -2 + 0.25 * 4)


def test_linear_guidance():
    assert LinearGuidance()(5) == pytest.approx([1.0, 0.75, 0.5, 0.25, 0.0])
    assert LinearGuidance()(1) == [1.0]


def test_cosine_constant_and_list_guidance():
    cosine = CosineGuidance()(5)
    assert cosine == pytest.approx([1.0, 0.5 + 0.5 * math.cos(math.pi / 4), 0.5,
                                    0.5 - 0.5 * math.cos(math.pi / 4), 0.0])
    assert CosineGuidance()(1) == [1.0]
    assert ConstantGuidance(0.3)(4) == [0.3] * 4
    assert ListGuidance([1, 0.5, 0.2])(3) == [1.0, 0.5, 0.2]
    with pytest.raises(ValueError, match='3 weights.*num_steps=5'):
        ListGuidance([1, 0.5, 0.2])(5)
    with pytest.raises(ValueError, match=r'\[0, 1\]'):
        ListGuidance([1.5, 0.5])


def test_guidance_builds_from_registry_and_sampler_checks_length():
    schedule = GUIDANCE.build(dict(type='ConstantGuidance', value=0.25))
    assert schedule(2) == [0.25, 0.25]
    sampler = SAMPLERS.build(dict(type='SchrodingerBridgeSampler', num_steps=5,
                                  guidance=dict(type='LinearGuidance')))
    assert sampler.guidance_weights() == pytest.approx([1, 0.75, 0.5, 0.25, 0])
    with pytest.raises(ValueError, match='num_steps=5'):
        SchrodingerBridgeSampler(num_steps=5, guidance=dict(type='ListGuidance',
                                                            weights=[1, 0]))


# ----------------------------------------------------------------- the chains
def test_run_chain_with_constant_generator_matches_hand_computation():
    c = 0.3
    G = ToyGenerator(lambda x, t, z: torch.full_like(x, c))
    x0 = torch.full((2, 1, 4, 4), -1.0)
    sampler = SchrodingerBridgeSampler(num_steps=5, use_noise=False)
    x = -1.0
    for rho in (0.5, 0.48, 6 / 13):
        x = (1 - rho) * x + rho * c
    assert torch.allclose(sampler.run_chain(G, x0, 3), torch.full_like(x0, x), atol=1e-6)
    assert [int(call['t_idx'][0]) for call in G.calls] == [0, 1, 2]

    guided = SchrodingerBridgeSampler(num_steps=5, use_noise=False,
                                      guidance=dict(type='LinearGuidance'))
    target = torch.full_like(x0, 0.8)
    x = -1.0
    for rho, alpha in ((0.5, 1.0), (0.48, 0.75), (6 / 13, 0.5)):
        x = (1 - rho) * x + rho * (alpha * 0.8 + (1 - alpha) * c)
    assert torch.allclose(guided.run_chain(G, x0, 3, target=target),
                          torch.full_like(x0, x), atol=1e-6)


def test_guidance_scale_multiplies_every_alpha():
    G = ToyGenerator(per_sample_map)
    x0, target = torch.randn(2, 1, 8, 8), torch.randn(2, 1, 8, 8)
    linear = SchrodingerBridgeSampler(num_steps=5, use_noise=False,
                                      guidance=dict(type='LinearGuidance'))
    halved = SchrodingerBridgeSampler(num_steps=5, use_noise=False,
                                      guidance=ListGuidance([0.5, 0.375, 0.25, 0.125, 0.0]))
    unguided = SchrodingerBridgeSampler(num_steps=5, use_noise=False)
    got = linear.run_training_chains(G, [x0], 4, [target], guidance_scale=0.5)[0]
    assert torch.allclose(got, halved.run_chain(G, x0, 4, target=target), atol=1e-6)
    off = linear.run_training_chains(G, [x0], 4, [target], guidance_scale=0.0)[0]
    assert torch.allclose(off, unguided.run_chain(G, x0, 4), atol=1e-6)
    assert not torch.allclose(off, got)
    with pytest.raises(ValueError, match='guidance_scale'):
        linear.run_training_chains(G, [x0], 1, [target], guidance_scale=1.5)


def test_annealed_guidance_scale_fades_linearly_between_start_and_end():
    assert annealed_guidance_scale(0.0, 0.0, 0.5) == 1.0
    assert annealed_guidance_scale(0.25, 0.0, 0.5) == pytest.approx(0.5)
    assert annealed_guidance_scale(0.5, 0.0, 0.5) == 0.0
    assert annealed_guidance_scale(0.9, 0.0, 0.5) == 0.0
    assert annealed_guidance_scale(0.1, 0.2, 0.6) == 1.0
    assert annealed_guidance_scale(0.5, 0.2, 0.6) == pytest.approx(0.25)
    for start, end in ((0.5, 0.5), (0.6, 0.2), (-0.1, 0.5), (0.0, 1.5)):
        with pytest.raises(ValueError, match='start < end'):
            annealed_guidance_scale(0.0, start, end)


def test_full_guidance_without_noise_lands_on_the_target():
    G = ToyGenerator(lambda x, t, z: torch.sin(3 * x) + z.mean())
    sampler = SchrodingerBridgeSampler(num_steps=5, tau=0.0,
                                       guidance=ConstantGuidance(1.0))
    x0, target = torch.randn(2, 1, 8, 8), torch.randn(2, 1, 8, 8)
    assert torch.equal(sampler.run_chain(G, x0, 5, target=target), target)


def test_unguided_identity_chain_stays_at_the_source():
    G = ToyGenerator(lambda x, t, z: x)
    sampler = SchrodingerBridgeSampler(num_steps=5, use_noise=False,
                                       guidance=dict(type='LinearGuidance'))
    x0 = torch.randn(2, 1, 8, 8)
    # guided sampler without a target, and k = 0, are both unguided/no-ops
    assert torch.allclose(sampler.run_chain(G, x0, 4), x0, atol=1e-6)
    assert torch.equal(sampler.run_chain(G, x0, 0), x0) and not G.calls[4:]


def test_step_noise_has_the_bridge_variance():
    G = ToyGenerator(lambda x, t, z: torch.zeros_like(x))
    sampler = SchrodingerBridgeSampler(num_steps=5, tau=0.04)
    x1 = sampler.run_chain(G, torch.zeros(8, 1, 32, 32), 1,
                           generator=torch.Generator().manual_seed(1))
    # var = tau * 0.25 -> std 0.1 (not 0.01, which a missing sqrt would give)
    assert x1.std().item() == pytest.approx(0.1, rel=0.05)


def test_training_chains_batched_equal_separate_chains():
    G = ToyGenerator(per_sample_map)
    sampler = SchrodingerBridgeSampler(num_steps=5, use_noise=False,
                                       guidance=dict(type='LinearGuidance'))
    sources = [torch.randn(2, 1, 8, 8), torch.randn(2, 1, 8, 8), torch.randn(1, 1, 8, 8)]
    targets = [torch.randn(2, 1, 8, 8), torch.randn(2, 1, 8, 8), None]
    batched = sampler.run_training_chains(G, sources, 3, targets)
    assert len(G.calls) == 3 and all(call['t_idx'].shape == (5,) for call in G.calls)
    separate = [sampler.run_chain(G, s, 3, target=t) for s, t in zip(sources, targets)]
    for got, want in zip(batched, separate):
        assert got.shape == want.shape
        assert torch.allclose(got, want, atol=1e-6)
    # the chains are guided by their own targets: swapping them changes the result
    swapped = sampler.run_training_chains(G, sources, 3, [targets[1], targets[0], None])
    assert not torch.allclose(swapped[0], batched[0])


def test_chains_run_without_grad_in_eval_mode_and_restore_modes():
    G = ToyGenerator(per_sample_map)
    G.train()
    G.inner.eval()  # a mixed state must come back as it was
    sampler = SchrodingerBridgeSampler(num_steps=5)
    sampler.run_chain(G, torch.randn(1, 1, 8, 8), 2)
    sampler.sample(G, torch.randn(1, 1, 8, 8))
    assert all(not c['training'] and not c['inner_training'] and not c['grad']
               for c in G.calls)
    assert G.training and not G.inner.training
    assert all(c['z_shape'] == (1, 3) for c in G.calls)


def test_sample_calls_the_generator_exactly_T_times_and_matches_hand():
    G = ToyGenerator(lambda x, t, z: 0.5 * x + 1.0)
    sampler = SchrodingerBridgeSampler(num_steps=3, use_noise=False,
                                       guidance=dict(type='LinearGuidance'))
    x0 = torch.full((1, 1, 4, 4), -0.5)
    out, intermediates = sampler.sample(G, x0, return_intermediates=True)
    assert len(G.calls) == 3 and [int(c['t_idx'][0]) for c in G.calls] == [0, 1, 2]
    assert len(intermediates) == 3 and torch.equal(intermediates[-1], out)
    # grid for T=3 is [0, 0.5, 5/6, 1]: rho_1 = 0.5, rho_2 = (1/3)/(1/2) = 2/3
    y0 = 0.5 * -0.5 + 1
    x1 = 0.5 * -0.5 + 0.5 * y0
    y1 = 0.5 * x1 + 1
    x2 = (1 / 3) * x1 + (2 / 3) * y1
    assert torch.allclose(out, torch.full_like(x0, 0.5 * x2 + 1), atol=1e-6)
    assert torch.allclose(intermediates[1], torch.full_like(x0, y1), atol=1e-6)


def test_sample_with_other_nfe_and_single_step():
    G = ToyGenerator(lambda x, t, z: x + 1)
    sampler = SchrodingerBridgeSampler(num_steps=5)
    x0 = torch.zeros(1, 1, 4, 4)
    assert torch.equal(sampler.sample(G, x0, num_steps=1), x0 + 1)
    sampler.sample(G, x0, num_steps=2)
    assert len(G.calls) == 3


def test_same_seed_gives_identical_outputs():
    G = ToyGenerator(lambda x, t, z: torch.tanh(x + z.mean(1).view(-1, 1, 1, 1)))
    sampler = SchrodingerBridgeSampler(num_steps=5, tau=0.1)
    x0 = torch.randn(2, 1, 8, 8)

    def run(seed):
        return sampler.sample(G, x0, generator=torch.Generator().manual_seed(seed))

    assert torch.equal(run(3), run(3))
    assert not torch.allclose(run(3), run(4))
    k1 = sampler.run_chain(G, x0, 3, generator=torch.Generator().manual_seed(5))
    k2 = sampler.run_chain(G, x0, 3, generator=torch.Generator().manual_seed(5))
    assert torch.equal(k1, k2)


def test_training_predictions_are_G_on_each_fully_guided_chain_state():
    G = ToyGenerator(lambda x, t, z: x)
    sampler = SchrodingerBridgeSampler(num_steps=3, use_noise=False,
                                       guidance=dict(type='LinearGuidance'))
    x0, target = torch.full((1, 1, 4, 4), -1.0), torch.ones(1, 1, 4, 4)
    predictions = sampler.training_predictions(G, x0, target)
    # X_0 = -1; X_1 = 0.5 * -1 + 0.5 * (1 * 1) = 0;
    # X_2 = (1/3) * 0 + (2/3) * (0.5 * 1 + 0.5 * 0) = 1/3 (rho_2 = 2/3, alpha_2 = 0.5)
    for prediction, value in zip(predictions, (-1.0, 0.0, 1 / 3)):
        assert torch.allclose(prediction, torch.full_like(x0, value), atol=1e-6)
    # each G(X_k, k, z) reads step k, after the k calls of its chain
    assert [int(c['t_idx'][0]) for c in G.calls] == [0, 0, 1, 0, 1, 2]
    assert not any(c['grad'] or c['training'] for c in G.calls)


class ToyEncoder(ToyGenerator):
    def encode(self, x, t_idx, z, layer_ids):
        self.calls.append(dict(x=x, t_idx=t_idx, z=z, layer_ids=layer_ids))
        return [x * (i + 1) for i in range(len(layer_ids))]


def test_encode_reads_the_step_a_fresh_latent_and_the_source():
    G = ToyEncoder(per_sample_map, z_dim=3)
    sampler = SchrodingerBridgeSampler(condition_on_source=True)
    x, source = torch.randn(2, 1, 4, 4), torch.randn(2, 1, 4, 4)
    feats = sampler.encode(G, x, 0, (0, 4), generator=torch.Generator().manual_seed(1),
                           source=source)
    call = G.calls[0]
    assert torch.equal(call['x'], torch.cat([x, source], dim=1)) and len(feats) == 2
    assert call['t_idx'].tolist() == [0, 0] and call['layer_ids'] == (0, 4)
    # z is the next draw of the given generator, as predict would take it
    assert torch.equal(call['z'], torch.randn(2, 3, generator=torch.Generator().manual_seed(1)))
    sampler.encode(G, x, 0, (0,), source=source)
    assert not torch.equal(G.calls[1]['z'], call['z'])


def test_latent_takes_the_dtype_of_the_generators_weights():
    seen = []
    G = ToyGenerator(lambda x, t, z: seen.append(z.dtype) or x)
    sampler = SchrodingerBridgeSampler(num_steps=2)
    # under autocast a prediction fed back to G may be bf16; G's weights are not
    sampler.predict(G, torch.zeros(1, 1, 4, 4, dtype=torch.bfloat16), 0)
    assert seen == [torch.float32]


def test_draw_step_index_is_uniform_over_steps_and_reproducible():
    sampler = SchrodingerBridgeSampler(num_steps=5)
    generator = torch.Generator().manual_seed(0)
    draws = [sampler.draw_step_index(generator) for _ in range(500)]
    assert set(draws) == {0, 1, 2, 3, 4}
    assert all(60 < draws.count(k) < 140 for k in range(5))
    again = torch.Generator().manual_seed(0)
    assert [sampler.draw_step_index(again) for _ in range(500)] == draws


def test_first_step_weight_sets_the_draw_frequencies():
    sampler = SchrodingerBridgeSampler(num_steps=5, first_step_weight=4)
    probs = [0.5, 0.125, 0.125, 0.125, 0.125]  # 4 / (4 + 4), then 1 / 8 each
    assert torch.allclose(sampler.step_probs, torch.tensor(probs, dtype=torch.float64))
    generator = torch.Generator().manual_seed(0)
    draws = [sampler.draw_step_index(generator) for _ in range(4000)]
    # binomial std of each count is at most sqrt(4000 / 4) ~ 32
    for k, p in enumerate(probs):
        assert abs(draws.count(k) - 4000 * p) < 130
    again = torch.Generator().manual_seed(0)
    assert [sampler.draw_step_index(again) for _ in range(4000)] == draws
    assert SchrodingerBridgeSampler(num_steps=1, first_step_weight=4).draw_step_index() == 0


@pytest.mark.parametrize('weight', [0, -1, float('nan'), float('inf')])
def test_bad_first_step_weight_is_refused(weight):
    with pytest.raises(ValueError, match='first_step_weight'):
        SchrodingerBridgeSampler(num_steps=5, first_step_weight=weight)


def test_bad_inputs_raise_clear_errors():
    sampler = SchrodingerBridgeSampler(num_steps=5)
    with pytest.raises(AttributeError, match='z_dim'):
        sampler.sample(lambda x, t, z: x, torch.zeros(1, 1, 4, 4))
    G = ToyGenerator(per_sample_map)
    with pytest.raises(ValueError, match='0..5'):
        sampler.run_chain(G, torch.zeros(1, 1, 4, 4), 6)
    with pytest.raises(ValueError, match='targets'):
        sampler.run_training_chains(G, [torch.zeros(1, 1, 4, 4)] * 2, 1, [None])
    with pytest.raises(ValueError, match='target 0'):
        sampler.run_chain(G, torch.zeros(1, 1, 4, 4), 1, target=torch.zeros(1, 1, 2, 2))


# ---------------------------------------------------------- source conditioning
def test_source_conditioned_sample_feeds_state_and_source_and_matches_hand():
    """G reads cat(X_j, x0): here G = 0.5 * state + source, T = 3, no noise."""
    inputs = []

    def state_plus_source(x, t, z):
        inputs.append(x.clone())
        return 0.5 * x[:, :1] + x[:, 1:]
    G = ToyGenerator(state_plus_source)
    sampler = SchrodingerBridgeSampler(num_steps=3, use_noise=False,
                                       condition_on_source=True)
    x0 = torch.full((1, 1, 4, 4), -0.5)
    out = sampler.sample(G, x0)
    assert len(inputs) == 3 and all(x.shape == (1, 2, 4, 4) for x in inputs)
    assert all(torch.equal(x[:, 1:], x0) for x in inputs)
    # grid [0, 0.5, 5/6, 1]: rho_1 = 0.5, rho_2 = 2/3 (as in the unconditioned test)
    y0 = 0.5 * -0.5 - 0.5
    x1 = 0.5 * -0.5 + 0.5 * y0
    y1 = 0.5 * x1 - 0.5
    x2 = (1 / 3) * x1 + (2 / 3) * y1
    assert torch.allclose(inputs[1][:, :1], torch.full_like(x0, x1), atol=1e-6)
    assert torch.allclose(out, torch.full_like(x0, 0.5 * x2 - 0.5), atol=1e-6)


def test_source_conditioned_training_chains_read_each_chains_own_source():
    inputs = []

    def record(x, t, z):
        inputs.append(x.clone())
        return x[:, :1]
    sampler = SchrodingerBridgeSampler(num_steps=5, condition_on_source=True,
                                       guidance=dict(type='LinearGuidance'))
    a, b = torch.randn(2, 1, 8, 8), torch.randn(3, 1, 8, 8)
    sampler.run_training_chains(ToyGenerator(record), [a, b], 3, [None, b])
    assert len(inputs) == 3  # one batched call per step
    assert all(torch.equal(x[:, 1:], torch.cat([a, b])) for x in inputs)


def test_source_conditioned_sampler_needs_the_source():
    sampler = SchrodingerBridgeSampler(condition_on_source=True)
    G = ToyGenerator(lambda x, t, z: x[:, :1])
    with pytest.raises(ValueError, match='condition_on_source'):
        sampler.predict(G, torch.zeros(1, 1, 4, 4), 0, None)
    with pytest.raises(ValueError, match='shape'):
        sampler.predict(G, torch.zeros(1, 1, 4, 4), 0, None, source=torch.zeros(1, 1, 2, 2))
    # the default sampler hands the state over unchanged, source or not
    plain = SchrodingerBridgeSampler()
    x = torch.randn(1, 1, 4, 4)
    assert plain.generator_input(x, torch.zeros_like(x)) is x
