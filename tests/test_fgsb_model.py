"""FGSB / UNSB training steps: which networks move, and nothing else."""
import copy

import pytest
import torch

import fgsb.engine  # noqa: F401
import fgsb.models  # noqa: F401
from fgsb.engine.optim_wrapper_constructor import MultiOptimWrapperConstructor
from fgsb.registry import MODELS

NETWORKS = ('generator', 'discriminator', 'mi_estimator', 'feature_mlp')


def tiny_fgsb(**overrides):
    cfg = dict(
        type='FGSB',
        generator=dict(type='TimeConditionalResnetGenerator', ngf=8, n_blocks=2),
        discriminator=dict(type='SelfSupervisedDiscriminator', ndf=8, n_layers=3),
        mi_estimator=dict(type='MIEstimator', in_channels=4, ndf=8, n_layers=3),
        feature_mlp=dict(type='PatchSampleMLP', out_channels=16),
        sampler=dict(type='SchrodingerBridgeSampler', num_steps=5, tau=0.01,
                     guidance=dict(type='LinearGuidance')),
        ctx_loss=dict(type='PriorWeightedL1Loss', loss_weight=10.0),
        ssl_loss=dict(type='SSLReconstructionLoss', loss_weight=1.0),
        num_patches=16, nce_layers=(0, 4, 8, 10, 11))
    cfg.update(overrides)
    return MODELS.build(cfg)


def optim_for(model):
    adam = dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999)))
    names = [n for n in NETWORKS if getattr(model, n, None) is not None]
    return MultiOptimWrapperConstructor({n: adam for n in names})(model)


def batch(size=32, batch_size=2, with_prior=True):
    g = torch.Generator().manual_seed(1)
    data = {'source': torch.rand(batch_size, 1, size, size, generator=g) * 2 - 1,
            'target': torch.rand(batch_size, 1, size, size, generator=g) * 2 - 1,
            'meta': [{}] * batch_size}
    if with_prior:
        prior = torch.zeros(batch_size, 1, size, size)
        prior[:, :, 8:16, 8:16] = 1
        data['prior'] = prior
    return data


def count_backward_passes(model):
    """Count, per network, how many backward passes reach its parameters."""
    counts = {name: 0 for name in NETWORKS}
    for name in NETWORKS:
        first = next(getattr(model, name).parameters())

        def hook(grad, name=name):
            counts[name] += 1
        first.register_hook(hook)
    return counts


def test_one_step_updates_every_network_and_leaves_no_gradients():
    model = tiny_fgsb()
    optim = optim_for(model)
    before = {n: copy.deepcopy(getattr(model, n).state_dict()) for n in NETWORKS}
    counts = count_backward_passes(model)
    torch.manual_seed(0)
    log_vars = model.train_step(batch(), optim)

    for name in NETWORKS:
        after = getattr(model, name).state_dict()
        changed = any(not torch.equal(before[name][k], after[k])
                      for k in after if after[k].is_floating_point())
        assert changed, f'{name} was not updated'
        for param in getattr(model, name).parameters():
            assert param.grad is None or not param.grad.abs().sum(), \
                f'{name} kept a gradient after the step'
        assert param.requires_grad
    # D: its own step only; E: its own step only; G and H: the G+H step only.
    assert counts == {'generator': 1, 'discriminator': 1, 'mi_estimator': 1,
                      'feature_mlp': 1}
    for key in ('loss_d', 'loss_d_ssl', 'loss_e', 'loss_g_adv', 'loss_g_sb',
                'loss_g_rec', 'loss_g_ctx', 'loss_g_nce', 'loss_g_idt_nce',
                'loss_g_idt_rec'):
        assert key in log_vars and torch.isfinite(torch.tensor(log_vars[key]))


def test_same_seed_gives_identical_losses():
    losses = []
    for _ in range(2):
        torch.manual_seed(3)
        model = tiny_fgsb()
        optim = optim_for(model)
        losses.append([model.train_step(batch(), optim) for _ in range(2)])
    assert losses[0] == losses[1]


def test_batch_size_one_needs_a_negative_sample():
    model = tiny_fgsb(ctx_loss=None)
    optim = optim_for(model)
    data = batch(batch_size=1, with_prior=False)
    with pytest.raises(ValueError, match='NegativePairDataset'):
        model.train_step(data, optim)
    data['source_neg'], data['target_neg'] = data['target'], data['source']
    assert 'loss_g' in model.train_step(data, optim)


def test_unsb_has_no_paired_terms_and_is_unguided():
    model = tiny_fgsb(type='UNSB', ctx_loss=None, ssl_loss=None,
                      discriminator=dict(type='PatchDiscriminator', in_channels=1,
                                         ndf=8),
                      sampler=dict(type='SchrodingerBridgeSampler', num_steps=5))
    assert model.sampler.guidance_weights() is None
    log_vars = model.train_step(batch(with_prior=False), optim_for(model))
    assert 'loss_g_rec' not in log_vars and 'loss_g_idt_nce' in log_vars


def test_ablation_without_adversary_or_mi_trains_generator_only():
    model = tiny_fgsb(discriminator=None, gan_loss=None, mi_estimator=None,
                      sb_loss=None, ssl_loss=None, ctx_loss=None,
                      sampler=dict(type='SchrodingerBridgeSampler', num_steps=1))
    optim = optim_for(model)
    assert set(optim.keys()) == {'generator', 'feature_mlp'}
    log_vars = model.train_step(batch(with_prior=False), optim)
    assert set(log_vars) == {'loss_g', 'loss_g_rec', 'loss_g_idt_rec', 'loss_g_nce',
                             'loss_g_idt_nce'}


def test_translate_runs_nfe_steps_and_keeps_shape():
    model = tiny_fgsb().eval()
    calls = []
    model.generator.register_forward_hook(lambda *a: calls.append(1))
    out = model.translate(torch.zeros(3, 1, 32, 32))
    assert out.shape == (3, 1, 32, 32) and len(calls) == 5


def test_guidance_anneal_follows_the_runners_progress():
    from mmengine.logging import MessageHub

    model = tiny_fgsb(guidance_anneal=(0.0, 0.5))
    hub = MessageHub.get_instance('test_guidance_anneal')
    hub.update_info('max_iters', 100)
    for iteration, scale in ((0, 1.0), (25, 0.5), (50, 0.0), (99, 0.0)):
        hub.update_info('iter', iteration)
        assert model.guidance_scale() == pytest.approx(scale)
    hub.update_info('iter', 25)
    log_vars = model.train_step(batch(), optim_for(model))
    assert log_vars['guidance_scale'] == pytest.approx(0.5)
    assert tiny_fgsb().guidance_scale() == 1.0  # off: METHOD.md's guidance throughout
    with pytest.raises(ValueError, match='start < end'):
        tiny_fgsb(guidance_anneal=(0.5, 0.2))
    MessageHub.get_instance('no_progress')  # the newest instance is the current one
    with pytest.raises(RuntimeError, match='training progress'):
        model.guidance_scale()


def source_conditioned_fgsb(in_channels=2):
    return tiny_fgsb(
        generator=dict(type='TimeConditionalResnetGenerator', in_channels=in_channels,
                       ngf=8, n_blocks=2),
        sampler=dict(type='SchrodingerBridgeSampler', num_steps=5, tau=0.01,
                     guidance=dict(type='LinearGuidance'), condition_on_source=True))


def test_source_conditioned_fgsb_trains_the_source_channel_and_translates():
    model = source_conditioned_fgsb()
    stem = model.generator.stem[1].weight  # Conv2d(2, ngf, 7): [state, source]
    before = stem.detach().clone()
    torch.manual_seed(0)
    log_vars = model.train_step(batch(), optim_for(model))
    assert torch.isfinite(torch.tensor(log_vars['loss_g']))
    assert not torch.equal(before[:, 1], stem.detach()[:, 1]), 'source channel unused'
    model.eval()
    source = torch.zeros(2, 1, 32, 32)
    assert model.translate(source).shape == (2, 1, 32, 32)


def test_source_conditioning_needs_a_two_channel_generator():
    with pytest.raises(ValueError, match='in_channels=2'):
        source_conditioned_fgsb(in_channels=1)
