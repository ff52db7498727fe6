"""Networks: shapes, conditioning, feature taps, gradient flow, errors."""
import math

import pytest
import torch
import torch.nn as nn

from fgsb.losses.ssl_loss import quadrant_crop
from fgsb.models.networks import (MIEstimator, PatchDiscriminator, PatchSampleMLP,
                                  ResnetGenerator, SelfSupervisedDiscriminator,
                                  TimeConditionalResnetGenerator, UnetGenerator)
from fgsb.models.networks.time_embedding import TimeEmbedding, sinusoidal_embedding
from fgsb.models.networks.weight_init import init_weights
from fgsb.registry import MODELS

T = 5


def steps(*values):
    return torch.tensor(values, dtype=torch.long)


def grads_missing(module: nn.Module):
    """Names of trainable parameters without a non-zero gradient."""
    return [name for name, p in module.named_parameters()
            if p.grad is None or not torch.any(p.grad != 0)]


def small_generator(**kwargs):
    return TimeConditionalResnetGenerator(ngf=8, n_blocks=9, num_timesteps=T, **kwargs)


# ----------------------------------------------------------------- registry / init


@pytest.mark.parametrize('cfg', [
    dict(type='UnetGenerator', num_downs=5, ngf=8),
    dict(type='PatchDiscriminator', in_channels=2, ndf=8),
    dict(type='PatchDiscriminator', in_channels=1, ndf=8, num_timesteps=T),
    dict(type='TimeConditionalResnetGenerator', ngf=8, n_blocks=2),
    dict(type='ResnetGenerator', ngf=8, n_blocks=2),
    dict(type='PatchSampleMLP', in_channels=[1, 16], out_channels=32),
    dict(type='MIEstimator', ndf=8),
    dict(type='SelfSupervisedDiscriminator', ndf=8),
])
def test_every_network_builds_from_the_registry(cfg):
    net = MODELS.build(cfg)
    assert type(net).__name__ == cfg['type']
    assert sum(p.numel() for p in net.parameters()) > 0


def test_init_types_draw_weights_as_documented():
    conv = nn.Conv2d(64, 64, 3)
    init_weights(conv, 'normal', 0.02)
    assert conv.weight.std().item() == pytest.approx(0.02, rel=0.05)
    assert torch.all(conv.bias == 0)
    init_weights(conv, 'kaiming')
    assert conv.weight.std().item() == pytest.approx(math.sqrt(2 / (64 * 9)), rel=0.05)
    init_weights(conv, 'xavier', 1.0)
    assert conv.weight.std().item() == pytest.approx(math.sqrt(2 / (2 * 64 * 9)), rel=0.05)
    bn = nn.BatchNorm2d(4096)
    init_weights(bn, 'normal', 0.02)
    assert bn.weight.mean().item() == pytest.approx(1.0, abs=0.005)
    with pytest.raises(ValueError, match='init_type'):
        init_weights(conv, 'orthogonal')


def test_unknown_norm_is_refused():
    with pytest.raises(ValueError, match='norm must be one of'):
        UnetGenerator(norm='group')


# ----------------------------------------------------------------- time embedding


def test_sinusoidal_embedding_matches_hand_values():
    # dim 4: frequencies 1 and 1/10000; layout [sin w0 k, sin w1 k, cos w0 k, cos w1 k]
    emb = sinusoidal_embedding(steps(0, 1, 3), 4)
    expected = torch.tensor([[0.0, 0.0, 1.0, 1.0],
                             [math.sin(1), math.sin(1e-4), math.cos(1), math.cos(1e-4)],
                             [math.sin(3), math.sin(3e-4), math.cos(3), math.cos(3e-4)]])
    assert torch.allclose(emb, expected, atol=1e-6)
    assert sinusoidal_embedding(steps(2), 5)[0, -1] == 0  # odd size: zero-padded


def test_time_embedding_rejects_bad_step_indices():
    emb = TimeEmbedding(T, 16, 32)
    assert emb(steps(0, 4), 2).shape == (2, 32)
    with pytest.raises(ValueError, match=r'\[0, 4\]'):
        emb(steps(5), 1)
    with pytest.raises(TypeError, match='Long'):
        emb(torch.tensor([0.5]), 1)
    with pytest.raises(ValueError, match=r'shape \(2,\)'):
        emb(steps(1), 2)


# ----------------------------------------------------------------- U-Net (pix2pix)


@pytest.mark.parametrize('norm', ['batch', 'instance'])
def test_unet_keeps_size_and_stays_in_tanh_range(norm):
    net = UnetGenerator(1, 1, num_downs=5, ngf=8, norm=norm)
    x = torch.randn(2, 1, 64, 32)
    y = net(x)
    assert y.shape == (2, 1, 64, 32)
    # blow up the last conv: tanh must saturate towards, never beyond, +-1
    with torch.no_grad():
        net.ups[0][1].weight.mul_(1e3)
    y = net(x)
    assert y.abs().max() <= 1 and y.abs().max() > 0.99


def test_unet_has_pix2pix_dropout_and_skip_widths():
    net = UnetGenerator(1, 1, num_downs=8, ngf=4)
    dropouts = [m for m in net.modules() if isinstance(m, nn.Dropout)]
    assert len(dropouts) == 3  # the num_downs - 5 middle 8ngf levels, as in pix2pix
    assert not any(isinstance(m, nn.Dropout)
                   for m in UnetGenerator(num_downs=8, ngf=4, use_dropout=False).modules())
    # every up-conv but the innermost sees [own, skip] = twice the level width
    assert net.ups[0][1].in_channels == 2 * 4 and net.ups[-1][1].in_channels == 32


def test_unet_skip_connection_carries_the_input():
    """With the inner levels' contribution zeroed, the output still depends on
    x through the outermost skip."""
    net = UnetGenerator(1, 1, num_downs=5, ngf=8, norm='instance').eval()
    with torch.no_grad():
        net.ups[1][1].weight.zero_()   # level-1 up-conv: everything below is cut off
    x = torch.randn(1, 1, 32, 32, requires_grad=True)
    net(x).sum().backward()
    assert x.grad.abs().sum() > 0


def test_unet_gradients_reach_every_parameter():
    net = UnetGenerator(1, 1, num_downs=5, ngf=8, norm='batch', use_dropout=False)
    net(torch.randn(2, 1, 32, 32)).pow(2).sum().backward()
    assert grads_missing(net) == []


def test_unet_rejects_sizes_not_divisible_by_two_to_the_num_downs():
    net = UnetGenerator(num_downs=5, ngf=8)
    with pytest.raises(ValueError, match=r'divisible by 2\*\*5=32'):
        net(torch.randn(1, 1, 48, 64))


# ----------------------------------------------------------------- PatchGAN


def test_resnet_generator_matches_the_papers_pix2pix_size():
    # Table 6: Pix2Pix 14.12 M parameters = ResNet-9 (ngf 64) + 70x70 PatchGAN.
    count = lambda net: sum(p.numel() for p in net.parameters())
    generator = ResnetGenerator(ngf=64, n_blocks=9)
    discriminator = PatchDiscriminator(in_channels=2, ndf=64, n_layers=3, norm='instance')
    assert round((count(generator) + count(discriminator)) / 1e6, 2) == 14.13
    # nine residual blocks of two 3x3 convs at 256 channels; instance norm has
    # no affine shift, so each conv keeps its bias (pix2pix's use_bias)
    blocks = [m for m in generator.modules() if type(m).__name__ == 'ResnetBlock']
    assert len(blocks) == 9 and count(blocks[0]) == 2 * (256 * 256 * 9 + 256)


def test_resnet_generator_shapes_gradients_and_errors():
    generator = ResnetGenerator(ngf=8, n_blocks=3, use_dropout=True)
    assert sum(isinstance(m, nn.Dropout) for m in generator.modules()) == 3
    x = torch.randn(2, 1, 32, 36)
    y = generator(x)
    assert y.shape == x.shape and y.abs().max() <= 1
    y.square().mean().backward()
    assert grads_missing(generator) == []
    with pytest.raises(ValueError, match='divisible by 4'):
        generator(torch.randn(1, 1, 30, 32))
    with pytest.raises(ValueError, match=r'\(B, 1, H, W\)'):
        generator(torch.randn(1, 2, 32, 32))


def test_resnet_block_is_a_residual():
    generator = ResnetGenerator(ngf=4, n_blocks=1)
    block = generator.model[10]
    nn.init.zeros_(block.body[-2].weight)  # last conv of the block off: identity
    x = torch.randn(1, 16, 8, 8)
    assert torch.equal(block(x), x)


def test_patch_discriminator_has_a_70x70_receptive_field():
    # batch norm in eval mode is local, so the gradient support of one central
    # logit is its receptive field
    net = PatchDiscriminator(in_channels=2, ndf=8, norm='batch').eval()
    x = torch.randn(1, 2, 128, 128, requires_grad=True)
    logits = net(x)
    assert logits.shape == (1, 1, 14, 14)  # 128 -> 64 -> 32 -> 16 -> 15 -> 14
    logits[0, 0, 7, 7].backward()
    rows = x.grad.abs().sum(dim=(0, 1, 3)).nonzero()
    cols = x.grad.abs().sum(dim=(0, 1, 2)).nonzero()
    assert rows.max() - rows.min() + 1 == 70 and cols.max() - cols.min() + 1 == 70


def test_time_conditional_discriminator_depends_on_the_step():
    net = PatchDiscriminator(in_channels=1, ndf=8, num_timesteps=T)
    x = torch.randn(1, 1, 32, 32).expand(2, -1, -1, -1)
    logits, feats = net(x, steps(0, 3), return_features=True)
    assert logits.shape == (2, 1, 2, 2)
    assert [f.shape[1] for f in feats] == [8, 16, 32, 64]
    assert [f.shape[-1] for f in feats] == [16, 8, 4, 3]
    assert not torch.allclose(logits[0], logits[1])
    logits.sum().backward()
    assert grads_missing(net) == []


def test_discriminator_checks_step_and_size():
    plain = PatchDiscriminator(in_channels=1, ndf=8)
    timed = PatchDiscriminator(in_channels=1, ndf=8, num_timesteps=T)
    x = torch.randn(1, 1, 32, 32)
    with pytest.raises(ValueError, match='without num_timesteps'):
        plain(x, steps(0))
    with pytest.raises(ValueError, match='time-conditional'):
        timed(x)
    with pytest.raises(ValueError, match='H, W >= 24'):
        plain(torch.randn(1, 1, 16, 16))
    with pytest.raises(ValueError, match=r'\(B, 1, H, W\)'):
        plain(torch.randn(1, 2, 32, 32))


# ----------------------------------------------------------------- FGSB generator


def test_generator_output_shape_range_and_conditioning():
    net = small_generator()
    assert net.z_dim == 32
    # Every call below has the same batch shape: oneDNN picks its convolution
    # kernels by shape (AVX-512/AMX CPUs differently for batch 1 and 2), so
    # outputs of two shapes may differ by ~1e-6 although the maths is the same.
    x = torch.randn(1, 1, 32, 32).expand(2, -1, -1, -1)
    z = torch.randn(1, net.z_dim).expand(2, -1)
    y = net(x, steps(0, 3), z)
    assert y.shape == (2, 1, 32, 32) and y.abs().max() <= 1
    # k and z move the freshly initialised output by ~1e-4, rounding by ~1e-6
    assert (y[0] - y[1]).abs().max() > 1e-5                       # k matters
    y_z = net(x, steps(0, 3), torch.randn(1, net.z_dim).expand(2, -1))
    assert (y_z - y).abs().max() > 1e-5                           # z matters
    assert torch.equal(net(x, steps(0, 3), z), y)                 # deterministic


def test_generator_gradients_reach_every_parameter():
    net = small_generator()
    net(torch.randn(2, 1, 32, 32), steps(1, 4), torch.randn(2, net.z_dim)).sum().backward()
    assert grads_missing(net) == []


def test_generator_checks_its_inputs():
    net = small_generator(z_dim=16)
    x = torch.randn(1, 1, 32, 32)
    with pytest.raises(ValueError, match=r'z must be a tensor of shape \(1, 16\)'):
        net(x, steps(0), torch.randn(1, 32))
    with pytest.raises(ValueError, match='divisible by 4'):
        net(torch.randn(1, 1, 30, 32), steps(0), torch.randn(1, 16))
    with pytest.raises(ValueError, match=r'\[0, 4\]'):
        net(x, steps(T), torch.randn(1, 16))


def test_encode_taps_cut_layers_and_skips_the_decoder():
    net = small_generator()
    x = torch.randn(2, 1, 32, 32)
    t, z = steps(0, 2), torch.randn(2, net.z_dim)
    layer_ids = (0, 4, 8, 12, 16)
    called = set()
    hooks = [m.register_forward_hook(lambda m, i, o, name=name: called.add(name))
             for name, m in net.named_modules() if name]
    feats = net.encode(x, t, z, layer_ids)
    for h in hooks:
        h.remove()

    assert [f.shape[1] for f in feats] == net.encoder_channels(layer_ids) == [1, 16, 32, 32, 32]
    assert [f.shape[-1] for f in feats] == [38, 16, 8, 8, 8]
    # layer 0 is the reflection-padded input, layer 4 the first down-conv (pre-norm)
    assert torch.equal(feats[0], nn.functional.pad(x, (3, 3, 3, 3), mode='reflect'))
    assert isinstance(net.stem[4], nn.Conv2d) and net.stem[4].stride == (2, 2)
    # it stops at layer 16 = residual block 6: blocks 7, 8 and the decoder never run
    assert 'blocks.6' in called and 'blocks.7' not in called and 'blocks.8' not in called
    assert not any(name.startswith('decoder') for name in called)

    # the taps are the same tensors the full forward computes
    seen = {}
    hook = net.blocks[2].register_forward_hook(lambda m, i, o: seen.update(out=o))
    net(x, t, z)
    hook.remove()
    assert torch.allclose(seen['out'], feats[3])


def test_encoder_channels_rejects_bad_layer_ids():
    net = small_generator()
    assert net.encoder_channels((2, 9, 10, 18)) == [8, 32, 32, 32]
    for bad in [(), (4, 0), (0, 19), (-1,)]:
        with pytest.raises(ValueError, match='layer_ids'):
            net.encoder_channels(bad)


# ----------------------------------------------------------------- PatchSampleMLP


def test_patch_sample_mlp_gathers_each_sample_and_normalises():
    feats = [torch.randn(2, 3, 4, 5), torch.randn(2, 6, 2, 2)]
    ids = [torch.tensor([[0, 7, 19], [5, 5, 13]]), torch.tensor([[3], [1]])]
    mlp = PatchSampleMLP([3, 6], out_channels=16)
    # built eagerly: the optimiser sees every MLP before any forward
    assert len(list(mlp.parameters())) == 2 * 4
    out = mlp(feats, ids)
    assert [o.shape for o in out] == [(2, 3, 16), (2, 1, 16)]
    assert torch.allclose(out[0].norm(dim=-1), torch.ones(2, 3), atol=1e-5)
    # sample 1, patch 2 = flat location 13 = row 2, column 3 of a 4x5 map
    by_hand = mlp.mlps[0](feats[0][1, :, 2, 3])
    # one vector against a batch of patches: float32 kernels agree to ~1e-6
    # of these unit vectors, another location differs by ~0.1
    assert torch.allclose(out[0][1, 2], by_hand / by_hand.norm(), rtol=0, atol=1e-5)
    sum(o.sum() for o in out).backward()
    assert grads_missing(mlp) == []


def test_patch_sample_mlp_checks_ids():
    mlp = PatchSampleMLP([3])
    feat = torch.randn(1, 3, 2, 2)
    with pytest.raises(ValueError, match=r'\[0, 3\]'):
        mlp([feat], [torch.tensor([[4]])])
    with pytest.raises(ValueError, match='LongTensor'):
        mlp([feat], [torch.tensor([0])])
    with pytest.raises(ValueError, match='built for 1 layers'):
        mlp([feat, feat], [torch.tensor([[0]])] * 2)


def test_feature_mlp_built_from_encoder_channels_fits_encode():
    net = small_generator()
    x = torch.randn(1, 1, 32, 32)
    feats = net.encode(x, steps(1), torch.randn(1, net.z_dim))
    mlp = PatchSampleMLP(net.encoder_channels(), out_channels=32)
    ids = [torch.randint(0, f.shape[-2] * f.shape[-1], (1, 10)) for f in feats]
    assert all(o.shape == (1, 10, 32) for o in mlp(feats, ids))


# ----------------------------------------------------------------- MI estimator


def test_mi_estimator_uses_both_pairs_and_the_step():
    net = MIEstimator(in_channels=4, ndf=8, num_timesteps=T)
    p = torch.randn(1, 2, 32, 32, requires_grad=True)
    p_other = torch.randn(1, 2, 32, 32, requires_grad=True)
    energy = net(p, steps(1), p_other)
    assert energy.shape == (1, 1, 2, 2)
    energy.sum().backward()
    assert p.grad.abs().sum() > 0 and p_other.grad.abs().sum() > 0
    assert not torch.allclose(energy, net(p, steps(1), p))
    assert not torch.allclose(energy, net(p, steps(2), p_other))
    with pytest.raises(ValueError, match='same shape'):
        net(p, steps(1), p_other[:, :1])


# ----------------------------------------------------------------- SSL discriminator


@pytest.mark.parametrize('size, rec_resize, rec_crop', [
    (32, 48, 32),     # last map 3x3 -> 48; penultimate 4x4, quadrant 2x2 -> 32
    (64, 112, 64),    # 7x7 -> 112; 8x8, quadrant 4x4 -> 64
    (256, 128, 128),  # 31x31 and quadrant 16x16 are area-resized to 8x8 -> 128
])
def test_ssl_discriminator_reconstruction_sizes(size, rec_resize, rec_crop):
    net = SelfSupervisedDiscriminator(ndf=4, num_timesteps=T)
    x = torch.rand(1, 1, size, size) * 2 - 1
    with torch.no_grad():
        logits, rec_a, rec_b = net.forward_with_reconstructions(x, steps(2), quadrant=3)
        assert torch.equal(logits, net(x, steps(2)))  # the logits of the plain D
    assert rec_a.shape == (1, 1, rec_resize, rec_resize)
    assert rec_b.shape == (1, 1, rec_crop, rec_crop)
    assert rec_a.abs().max() <= 1 and rec_b.abs().max() <= 1
    real_a, real_b = net.ssl_targets(x, 3, rec_a.shape, rec_b.shape)
    assert real_a.shape == rec_a.shape and real_b.shape == rec_b.shape


def test_ssl_crop_decoder_reads_the_chosen_quadrant_of_the_penultimate_map():
    net = SelfSupervisedDiscriminator(ndf=4, num_timesteps=T)
    x = torch.randn(1, 1, 64, 64)
    _, feats = net(x, steps(1), return_features=True)
    seen = {}
    hook = net.crop_decoder.register_forward_pre_hook(lambda m, args: seen.update(feat=args[0]))
    for quadrant in range(4):
        net.forward_with_reconstructions(x, steps(1), quadrant)
        assert torch.allclose(seen['feat'], quadrant_crop(feats[-2], quadrant))
    hook.remove()
    assert feats[-2].shape[-1] == 8  # penultimate = last stride-2 block, 64 / 8


def test_ssl_targets_are_the_matching_real_quadrants():
    # an image whose quadrants hold the constants 0, 1, 2, 3
    real = torch.zeros(1, 1, 32, 32)
    real[..., :16, 16:], real[..., 16:, :16], real[..., 16:, 16:] = 1, 2, 3
    for quadrant in range(4):
        resized, crop = SelfSupervisedDiscriminator.ssl_targets(real, quadrant,
                                                                (1, 1, 8, 8), (1, 1, 40, 40))
        assert crop.shape[-2:] == (40, 40) and torch.allclose(crop, torch.full_like(crop, quadrant))
        assert resized.shape[-2:] == (8, 8)
        # area resizing averages 4x4 blocks, so quadrant values survive exactly
        assert torch.allclose(resized[..., :4, 4:], torch.ones(1, 1, 4, 4))


def test_ssl_decoders_learn_only_from_reconstructions():
    net = SelfSupervisedDiscriminator(ndf=4, num_timesteps=T)
    x = torch.randn(2, 1, 32, 32)
    net(x, steps(0, 4)).mean().backward()
    decoder_params = {n for n, _ in net.named_parameters() if 'decoder' in n}
    assert set(grads_missing(net)) == decoder_params

    net.zero_grad(set_to_none=True)
    logits, rec_a, rec_b = net.forward_with_reconstructions(x, steps(0, 4), quadrant=1)
    real_a, real_b = net.ssl_targets(x, 1, rec_a.shape, rec_b.shape)
    ((rec_a - real_a).abs().mean() + (rec_b - real_b).abs().mean()).backward()
    missing = grads_missing(net)
    # the SSL loss trains both decoders and the body, but not the logit conv
    assert all(n.startswith('final_conv') for n in missing) and missing


def test_ssl_reconstructions_depend_on_the_step():
    net = SelfSupervisedDiscriminator(ndf=4, num_timesteps=T, decoder_activation='leaky_relu')
    x = torch.randn(1, 1, 32, 32).expand(2, -1, -1, -1)
    _, rec_a, rec_b = net.forward_with_reconstructions(x, steps(0, 3), quadrant=0)
    assert not torch.allclose(rec_a[0], rec_a[1]) and not torch.allclose(rec_b[0], rec_b[1])


def test_ssl_discriminator_checks_sizes_and_quadrant():
    net = SelfSupervisedDiscriminator(ndf=4, num_timesteps=T)
    with pytest.raises(ValueError, match=r'divisible by 2\*\*4=16'):
        net.forward_with_reconstructions(torch.randn(1, 1, 40, 40), steps(0), 0)
    with pytest.raises(ValueError, match='H, W >= 32'):
        net(torch.randn(1, 1, 16, 16), steps(0))
    with pytest.raises(ValueError, match='quadrant'):
        net.forward_with_reconstructions(torch.randn(1, 1, 32, 32), steps(0), 4)
    with pytest.raises(ValueError, match='four decoder layers'):
        SelfSupervisedDiscriminator(ndf=4, decoder_channels=(8, 8))
