"""2.5D input (docs/volumes.md): neighbour source slices as extra channels,
centre first, the same in training and in synthesis, for every model family."""
import hashlib
import json
from dataclasses import asdict

import numpy as np
import pytest
import torch
from torch import nn

import fgsb.models  # noqa: F401
from fgsb.apis.synthesis_settings import SynthesisSettings
from fgsb.apis.volume_input import prepare_volume
from fgsb.apis.volume_synthesis import SynthesisError, synthesize_volume
from fgsb.datasets import volume_cache
from fgsb.datasets.batch_keys import SOURCE, TARGET
from fgsb.datasets.collate import paired_collate
from fgsb.datasets.negative_pair_dataset import NegativePairDataset
from fgsb.datasets.paired_slice_dataset import PairedSliceDataset
from fgsb.datasets.slice_context import (check_context_slices, neighbour_indices,
                                         neighbour_plan, slice_stacks)
from fgsb.datasets.slice_pipeline import SliceLayout, SliceSettings
from fgsb.engine.optim_wrapper_constructor import MultiOptimWrapperConstructor
from fgsb.models.algorithms.base_translator import BaseTranslator
from fgsb.registry import MODELS
from conftest import TINY_SYNDIFF_NETWORKS, write_prepared_root

SUBJECT = 'sub_00'


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    # 32 x 32 x 8: axial slices 0 and 7 hold brain but less than 10 % of it
    return write_prepared_root(tmp_path_factory.mktemp('context') / 'root', num_subjects=2,
                               num_test=1)


def dataset(root, **kwargs):
    return PairedSliceDataset(root, subjects=[SUBJECT], size=32, **kwargs)


def by_slice(data):
    return {data[i]['meta']['slice_index']: data[i] for i in range(len(data))}


# ------------------------------------------------------------------ indices

def test_neighbours_are_clamped_to_the_volume_and_ordered():
    assert neighbour_indices([0, 1, 4], depth=5, n=2).tolist() == [
        [0, 0, 1, 2], [0, 0, 2, 3], [2, 3, 4, 4]]
    assert neighbour_indices([3], depth=5, n=0).shape == (1, 0)
    layout = SliceLayout(axis=2, indices=(2, 3), volume_shape=(4, 4, 5), pad=((0, 0), (0, 0)),
                         side=4, size=4)
    neighbours, positions = neighbour_plan(layout, 2)
    assert neighbours.indices == (0, 1, 2, 3, 4)  # each distinct slice once
    assert positions.tolist() == [[0, 1, 3, 4], [1, 2, 4, 4]]
    centre = np.array([[[20.0]], [[30.0]]])
    images = np.arange(5, dtype=np.float32)[:, None, None] * 10  # slice s holds 10 s
    stacks = slice_stacks(centre, images, positions)
    assert stacks.shape == (2, 5, 1, 1)
    assert stacks[:, :, 0, 0].tolist() == [[20, 0, 10, 30, 40], [30, 10, 20, 40, 40]]


@pytest.mark.parametrize('bad', [-1, 1.5, True, '1'])
def test_context_slices_must_be_a_non_negative_integer(bad):
    with pytest.raises(ValueError, match='context_slices must be an integer >= 0'):
        check_context_slices(bad)


# ------------------------------------------------------------------ data set

def test_source_stack_holds_the_volumes_neighbours_centre_first(root):
    plain, stacked = by_slice(dataset(root)), by_slice(dataset(root, context_slices=1))
    every = by_slice(dataset(root, min_brain_fraction=0.0))  # each slice's own image
    assert sorted(plain) == sorted(stacked) == list(range(1, 7)) and sorted(every) == list(
        range(8))
    for s, sample in stacked.items():
        assert sample[SOURCE].shape == (3, 32, 32)
        assert torch.equal(sample[SOURCE][:1], plain[s][SOURCE])  # n=0: the centre, unchanged
        for key in (TARGET, 'brain_mask', 'lesion_mask'):
            assert torch.equal(sample[key], plain[s][key])
        assert torch.equal(sample[SOURCE][1], every[s - 1][SOURCE][0])
        assert torch.equal(sample[SOURCE][2], every[s + 1][SOURCE][0])
    # slice 0 is dropped from training (brain fraction < 0.1) but is still
    # slice 1's neighbour, not a copy of slice 1
    assert not torch.equal(stacked[1][SOURCE][1], stacked[1][SOURCE][0])


def test_edges_of_the_volume_replicate_the_edge_slice(root):
    stacked = by_slice(dataset(root, context_slices=2, min_brain_fraction=0.0))
    first, last = stacked[0][SOURCE], stacked[7][SOURCE]  # [s, s-2, s-1, s+1, s+2]
    assert first.shape == (5, 32, 32)
    assert torch.equal(first[1], first[0]) and torch.equal(first[2], first[0])
    assert torch.equal(first[3], stacked[1][SOURCE][0])
    assert torch.equal(last[3], last[0]) and torch.equal(last[4], last[0])
    assert torch.equal(stacked[1][SOURCE][1], first[0])  # slice 1: [1, 0, 0, 2, 3]


def test_flip_mirrors_every_channel_in_plane(root):
    plain = dataset(root, context_slices=1)[2]
    flipped = dataset(root, context_slices=1, flip_prob=1.0)[2]
    assert flipped['meta']['flipped']
    assert torch.equal(flipped[SOURCE], plain[SOURCE].flip(1))
    assert torch.equal(flipped[TARGET], plain[TARGET].flip(1))


def test_cache_key_without_context_is_the_old_key(root, tmp_path):
    files = {SOURCE: root / SUBJECT / 't1.nii.gz', TARGET: root / SUBJECT / 't2.nii.gz'}
    settings = SliceSettings()
    old_settings = {k: v for k, v in asdict(settings).items()
                    if k not in ('context_slices', 'target_context_slices')}
    stamps = {role: [str(path.resolve()), path.stat().st_size, path.stat().st_mtime_ns]
              for role, path in sorted(files.items())}
    description = dict(version=volume_cache.CACHE_FORMAT_VERSION, subject=SUBJECT,
                       files=stamps, settings=old_settings)
    digest = hashlib.sha1(json.dumps(description, sort_keys=True).encode()).hexdigest()
    assert volume_cache._cache_key(SUBJECT, files, settings) == f'{SUBJECT}-{digest[:16]}'
    assert volume_cache._cache_key(SUBJECT, files, SliceSettings(context_slices=1)) != \
        volume_cache._cache_key(SUBJECT, files, settings)
    assert volume_cache._cache_key(SUBJECT, files, SliceSettings(target_context_slices=1)) \
        not in (volume_cache._cache_key(SUBJECT, files, settings),
                volume_cache._cache_key(SUBJECT, files, SliceSettings(context_slices=1)))
    cached = dataset(root, context_slices=1, cache_dir=tmp_path)
    again = dataset(root, context_slices=1, cache_dir=tmp_path)  # memory-mapped
    assert torch.equal(cached[0][SOURCE], again[0][SOURCE])


# ------------------------------------------------------------ synthesis

class SpyTranslator(BaseTranslator):
    """Records the network inputs synthesis gives it; predicts channel 0."""

    def __init__(self, channels):
        super().__init__()
        self.generator = nn.Conv2d(channels, 1, 1)
        self.seen = []

    def _translation_steps(self, source, nfe, generator):
        self.seen.append(source.clone())
        return [source[:, :1]]


def synthesis_settings(n):
    source, target, slices = PairedSliceDataset.settings_from_config(
        dict(size=32, context_slices=n))
    return SynthesisSettings(source, target, slices)


def test_synthesis_feeds_the_stacks_training_feeds(root):
    folder = root / SUBJECT
    settings = synthesis_settings(1)
    assert settings.slices.context_slices == 1
    spy = SpyTranslator(3)
    synthesize_volume(spy, folder / 't1.nii.gz', settings=settings,
                      brain_mask=folder / 'brain_mask.nii.gz', batch_size=3)
    inputs = torch.cat(spy.seen)
    indices = prepare_volume(folder / 't1.nii.gz', settings,
                             folder / 'brain_mask.nii.gz').layout.indices
    assert indices == tuple(range(8)) and inputs.shape == (8, 3, 32, 32)
    for s, sample in by_slice(dataset(root, context_slices=1)).items():
        assert torch.equal(inputs[indices.index(s)], sample[SOURCE])


def test_synthesis_refuses_settings_the_model_does_not_read(root):
    folder = root / SUBJECT
    with pytest.raises(SynthesisError, match=r'reads sources of 1 channels.*context_slices=1'):
        synthesize_volume(SpyTranslator(1), folder / 't1.nii.gz',
                          settings=synthesis_settings(1))


# --------------------------------------------------------------- models

def optim_for(model, names):
    adam = dict(optimizer=dict(type='Adam', lr=1e-4, betas=(0.5, 0.999)))
    return MultiOptimWrapperConstructor({n: adam for n in names})(model)


@pytest.fixture(scope='module')
def context_batch(root):
    data = NegativePairDataset(dataset(root, context_slices=1))
    torch.manual_seed(0)
    return paired_collate([data[1], data[4]])


def fgsb_config(condition_on_source):
    return dict(
        type='FGSB',
        generator=dict(type='TimeConditionalResnetGenerator', ngf=4, n_blocks=2,
                       in_channels=4 if condition_on_source else 3),
        discriminator=dict(type='SelfSupervisedDiscriminator', ndf=4, n_layers=3),
        mi_estimator=dict(type='MIEstimator', in_channels=4, ndf=4, n_layers=3),
        feature_mlp=dict(type='PatchSampleMLP', out_channels=8),
        sampler=dict(type='SchrodingerBridgeSampler', num_steps=3, tau=0.01,
                     guidance=dict(type='LinearGuidance'),
                     condition_on_source=condition_on_source),
        ssl_loss=dict(type='SSLReconstructionLoss', loss_weight=1.0),
        num_patches=8, nce_layers=(0, 4, 8, 10, 11))


@pytest.mark.parametrize('generator', [
    dict(type='ResnetGenerator', in_channels=3, ngf=4, n_blocks=1),
    dict(type='UnetGenerator', in_channels=3, ngf=4, num_downs=5)])
def test_pix2pix_trains_and_translates_on_stacks(generator, context_batch):
    model = MODELS.build(dict(type='Pix2Pix', generator=generator, discriminator=dict(
        type='PatchDiscriminator', in_channels=4, ndf=4, n_layers=2)))
    assert model.source_channels == 3
    logs = model.train_step(context_batch, optim_for(model, ['generator', 'discriminator']))
    assert np.isfinite(logs['loss_g']) and np.isfinite(logs['loss_d'])
    assert model.translate(context_batch[SOURCE]).shape == (2, 1, 32, 32)


def test_pix2pix_discriminator_must_read_the_stack_and_the_image():
    with pytest.raises(ValueError, match=r'set discriminator.in_channels=4 '):
        MODELS.build(dict(type='Pix2Pix', generator=dict(type='ResnetGenerator', in_channels=3),
                          discriminator=dict(type='PatchDiscriminator', in_channels=2)))


@pytest.mark.parametrize('condition_on_source', [True, False])
def test_fgsb_bridge_runs_on_the_centre_and_reads_the_neighbours(condition_on_source,
                                                                 context_batch):
    model = MODELS.build(fgsb_config(condition_on_source))
    assert model.source_channels == 3 and model.context_channels == 2
    source = context_batch[SOURCE]
    seen = []
    model.generator.register_forward_pre_hook(lambda net, args: seen.append(args[0].clone()))
    out, steps = model.translate(source, generator=torch.Generator().manual_seed(0),
                                 return_steps=True)
    assert out.shape == (2, 1, 32, 32) and len(steps) == 3
    first = seen[0]  # step 0: the state is the centre slice x0
    expected = [source[:, :1]] + ([source[:, :1]] if condition_on_source else []) + \
        [source[:, 1:]]
    assert torch.equal(first, torch.cat(expected, dim=1))
    assert all(torch.equal(call[:, -2:], source[:, 1:]) for call in seen)
    other = source.clone()
    other[:, 1:] = -1.0  # other neighbours, same centre and seed: another prediction
    assert not torch.equal(out, model.translate(other, generator=torch.Generator().manual_seed(0)))

    seen.clear()
    logs = model.train_step(context_batch, optim_for(
        model, ['generator', 'discriminator', 'mi_estimator', 'feature_mlp']), step_index=1)
    assert all(np.isfinite(v) for v in logs.values())
    assert {call.shape[1] for call in seen} == {4 if condition_on_source else 3}


def test_fgsb_in_channels_must_leave_room_for_whole_neighbour_pairs():
    with pytest.raises(ValueError, match=r'set generator.in_channels=2 \(\+2n\), got 3'):
        MODELS.build(dict(fgsb_config(True), generator=dict(
            type='TimeConditionalResnetGenerator', ngf=4, n_blocks=2, in_channels=3)))


def test_a_stack_for_a_2d_model_is_one_clear_error(context_batch):
    model = MODELS.build(dict(fgsb_config(True), generator=dict(
        type='TimeConditionalResnetGenerator', ngf=4, n_blocks=2, in_channels=2)))
    with pytest.raises(ValueError, match=r"reads sources of 1 channels, got shape "
                                         r"\(2, 3, 32, 32\).*context_slices=n"):
        model.train_step(context_batch, None)
    with pytest.raises(ValueError, match='model.generator.in_channels=2n\\+1'):
        model.translate(context_batch[SOURCE])


def test_syndiff_reads_the_stack_as_its_condition(context_batch):
    model = MODELS.build(dict(
        type='SynDiff',
        generator=dict(type='NCSNppGenerator', **TINY_SYNDIFF_NETWORKS['generator'], z_dim=8,
                       in_channels=4),
        discriminator=dict(type='TimeConditionalPairDiscriminator',
                           **TINY_SYNDIFF_NETWORKS['discriminator'])))
    assert model.source_channels == 3
    logs = model.train_step(context_batch, optim_for(model, ['generator', 'discriminator']))
    assert np.isfinite(logs['loss_g'])
    out = model.translate(context_batch[SOURCE], generator=torch.Generator().manual_seed(0))
    assert out.shape == (2, 1, 32, 32)
    with pytest.raises(ValueError, match=r'set generator.in_channels=2 \(twice'):
        MODELS.build(dict(type='SynDiff', generator=dict(type='NCSNppGenerator', in_channels=3),
                          discriminator=dict(type='TimeConditionalPairDiscriminator')))
