"""The prepared layout: file names, splits.json, subject choice, validation carve-out."""
import json
import os
import stat

import pytest

from fgsb.datasets.prepared_layout import (carve_validation, choose_subjects,
                                           lesion_label_name, read_splits,
                                           read_subject_record, splits_path,
                                           subject_modalities, volume_path, write_splits,
                                           write_subject_record)

IDS = [f's{i}' for i in range(6)]


def test_subject_choice_is_a_seeded_prefix_whatever_the_order_given():
    # default_rng(0).permutation(6) is [3, 2, 5, 4, 0, 1]: the same on every machine,
    # so a published split can be rebuilt from its ids and seed
    assert choose_subjects(IDS, 6, 0) == ['s3', 's2', 's5', 's4', 's0', 's1']
    assert choose_subjects(IDS[::-1], 3, 0) == ['s3', 's2', 's5']
    assert choose_subjects(IDS, 3, 1) == ['s4', 's0', 's2']
    assert choose_subjects(IDS, 0, 0) == []


def test_volume_names():
    assert str(volume_path('root/p1', 'brain_mask')) == 'root/p1/brain_mask.nii.gz'
    assert lesion_label_name(2.0) == 'lesion_label2'


def test_modalities_of_a_subject_exclude_every_mask(tmp_path):
    for name in ('t2', 't1', 'brain_mask', 'lesion_mask', 'lesion_label1'):
        volume_path(tmp_path, name).write_bytes(b'')
    (tmp_path / 'notes.txt').write_text('')
    assert subject_modalities(tmp_path) == ['t1', 't2']


def test_splits_round_trip_with_meta_and_umask_permissions(tmp_path):
    saved = os.umask(0o022)
    try:
        path = write_splits(tmp_path, {'train': ['a', 'b'], 'test': ['c']}, {'seed': 3})
    finally:
        os.umask(saved)
    assert path == splits_path(tmp_path) == tmp_path / 'splits.json'
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert read_splits(tmp_path) == ({'train': ['a', 'b'], 'test': ['c']}, {'seed': 3})
    path.write_text(json.dumps({'train': ['a']}))
    assert read_splits(tmp_path) == ({'train': ['a']}, None)


@pytest.mark.parametrize('content, message', [
    ('{"train": [', 'not valid JSON'),
    ('["a", "b"]', 'expected an object'),
    ('{"train": "a"}', "split 'train' must be a list"),
    ('{"train": [1]}', "split 'train' must be a list"),
    ('{"train": ["a", "a"]}', "split 'train' lists a subject twice"),
])
def test_a_bad_splits_file_is_named(tmp_path, content, message):
    splits_path(tmp_path).write_text(content)
    with pytest.raises(ValueError, match=f'splits.json: {message}'):
        read_splits(tmp_path)


def test_a_missing_splits_file_says_what_it_needs(tmp_path):
    with pytest.raises(FileNotFoundError, match='splits.json not found.*"train"'):
        read_splits(tmp_path)


def test_validation_is_carved_from_train_by_seed():
    splits = {'train': IDS[:4], 'test': IDS[4:]}
    carved = carve_validation(splits, 2, 0, 'splits.json')
    # default_rng(0).permutation(4) is [2, 0, 1, 3]
    assert carved == {'train': ['s1', 's3'], 'val': ['s2', 's0'], 'test': ['s4', 's5']}
    with pytest.raises(ValueError, match="already has a 'val' split"):
        carve_validation(carved, 1, 0, 'splits.json')
    with pytest.raises(ValueError, match='val_subjects=4 leaves no training subject'):
        carve_validation(splits, 4, 0, 'splits.json')


def test_subject_record_round_trip(tmp_path):
    assert read_subject_record(tmp_path) is None
    write_subject_record(tmp_path, {'settings': {'spacing': 1.0}})
    assert read_subject_record(tmp_path) == {'settings': {'spacing': 1.0}}
    (tmp_path / '.prepared.json').write_text('{')
    assert read_subject_record(tmp_path) is None
