"""Atomic writing: whole files or none, umask permissions, stale temporaries cleaned."""
import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from fgsb.fileio import (atomic_folder, atomic_path, remove_stale_temporaries,
                         write_json_atomic, write_text_atomic)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def umask():
    """Run under a chosen umask, restoring the caller's afterwards."""
    saved = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(saved)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_text_and_json_are_written_whole(tmp_path):
    path = tmp_path / 'new' / 'notes.txt'
    write_text_atomic('a\r\nb', path)  # newline='' keeps the text as given
    assert path.read_bytes() == b'a\r\nb'
    write_json_atomic({'psnr': 30.5}, tmp_path / 'metrics.json')
    assert json.loads((tmp_path / 'metrics.json').read_text()) == {'psnr': 30.5}
    assert sorted(p.name for p in tmp_path.iterdir()) == ['metrics.json', 'new']


@pytest.mark.parametrize('mask, file_mode, folder_mode', [(0o022, 0o644, 0o755),
                                                          (0o027, 0o640, 0o750),
                                                          (0o002, 0o664, 0o775)])
def test_permissions_follow_the_umask(tmp_path, umask, mask, file_mode, folder_mode):
    umask(mask)
    write_json_atomic({}, tmp_path / 'metrics.json')
    write_text_atomic('x', tmp_path / 'a.txt')
    with atomic_path(tmp_path / 'b.bin') as tmp:
        tmp.write_bytes(b'1')
    with atomic_folder(tmp_path / 'subject') as tmp:
        (tmp / 'inside.txt').write_text('y')
    for name in ('metrics.json', 'a.txt', 'b.bin', 'subject/inside.txt'):
        assert mode(tmp_path / name) == file_mode, name
    assert mode(tmp_path / 'subject') == folder_mode


def test_the_temporary_is_hidden_beside_the_target_and_not_data(tmp_path):
    with atomic_path(tmp_path / 'out.nii.gz') as tmp:
        assert tmp.parent == tmp_path and tmp.exists()
        assert tmp.name.startswith('.out.nii.gz.') and tmp.name.endswith('.fgsb-tmp')
        assert not tmp.name.endswith(('.nii', '.nii.gz'))
    with atomic_folder(tmp_path / 'phantom_000') as tmp:
        assert tmp.parent == tmp_path and tmp.is_dir()
        assert tmp.name.startswith('.phantom_000.') and tmp.name.endswith('.fgsb-tmp')


def test_a_failed_write_keeps_the_old_file_and_leaves_nothing(tmp_path):
    path = tmp_path / 'splits.json'
    path.write_text('old')
    with pytest.raises(RuntimeError, match='disk full'):
        with atomic_path(path) as tmp:
            tmp.write_text('half')
            raise RuntimeError('disk full')
    assert path.read_text() == 'old'
    assert os.listdir(tmp_path) == ['splits.json']


def test_a_folder_is_replaced_only_once_complete(tmp_path):
    folder = tmp_path / 'p1'
    with atomic_folder(folder) as tmp:
        (tmp / 't1.nii.gz').write_text('first')
    with pytest.raises(KeyboardInterrupt):
        with atomic_folder(folder) as tmp:
            (tmp / 't1.nii.gz').write_text('second')
            raise KeyboardInterrupt
    assert (folder / 't1.nii.gz').read_text() == 'first'
    with atomic_folder(folder) as tmp:
        (tmp / 't2.nii.gz').write_text('third')
    assert os.listdir(folder) == ['t2.nii.gz']  # replaced whole, not merged
    assert os.listdir(tmp_path) == ['p1']


def test_without_replace_the_first_folder_wins(tmp_path):
    folder = tmp_path / 'cache-entry'
    with atomic_folder(folder, replace=False) as tmp:
        (tmp / 'info.json').write_text('first')
    with pytest.raises(OSError):
        with atomic_folder(folder, replace=False) as tmp:
            (tmp / 'info.json').write_text('second')
    assert (folder / 'info.json').read_text() == 'first'
    assert os.listdir(tmp_path) == ['cache-entry']


KILLED_WRITER = textwrap.dedent('''
    import os, signal, sys
    from fgsb.fileio import atomic_folder, atomic_path
    folder = sys.argv[1]
    with atomic_folder(os.path.join(folder, 'phantom_000')) as tmp:
        (tmp / 't1.nii.gz').write_bytes(b'x' * 1000)
        with atomic_path(os.path.join(folder, 'out.nii.gz')) as part:
            part.write_bytes(b'half')
            os.kill(os.getpid(), signal.SIGKILL)
''')


def test_temporaries_of_a_killed_run_are_removed_and_nothing_else(tmp_path):
    result = subprocess.run([sys.executable, '-c', KILLED_WRITER, str(tmp_path)], cwd=ROOT,
                            env={**os.environ, 'PYTHONPATH': str(ROOT)})
    assert result.returncode == -signal.SIGKILL
    leftovers = sorted(p.name for p in tmp_path.iterdir())
    assert len(leftovers) == 2 and all(name.endswith('.fgsb-tmp') for name in leftovers)
    # what is not ours: a user's hidden file, an old-style temporary, data
    kept = ['.notes', '.out.nii.gz.abc123.nii.gz', 'out.nii.gz', 'x.fgsb-tmp']
    for name in kept:
        (tmp_path / name).write_text('mine')
    with atomic_path(tmp_path / 'live.json') as live:  # a live writer's temporary
        assert remove_stale_temporaries(tmp_path) == leftovers
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(kept + [live.name])
    assert remove_stale_temporaries(tmp_path / 'missing') == []
