"""NIfTI reading and writing: one-line errors naming the file, atomic umask-mode writes."""
import gzip
import os
import stat

import nibabel as nib
import numpy as np
import pytest

from fgsb.datasets.nifti_io import VolumeError, load_volume, save_volume

VOXELS = np.arange(64, dtype=np.float32).reshape(4, 4, 4) + 1


def write_raw(path, shape=(4, 4, 4), data=VOXELS, **fields):
    """A NIfTI file with exactly these header fields (nib.save would fix the affine)."""
    header = nib.Nifti1Header()
    header.set_data_shape(shape)
    header.set_data_dtype(np.float32)
    header.set_sform(np.eye(4), code=1)
    header.set_qform(np.eye(4), code=1)
    for name, value in fields.items():
        header[name] = value
    header['vox_offset'] = 352
    raw = header.binaryblock + b'\0' * 4 + data.tobytes(order='F')  # NIfTI is x-fastest
    opener = gzip.open if path.name.endswith('.gz') else open
    with opener(path, 'wb') as f:
        f.write(raw)
    return path


def test_a_plain_volume_reads_back(tmp_path):
    image, data = load_volume(write_raw(tmp_path / 'ok.nii.gz'))
    np.testing.assert_array_equal(data, VOXELS)
    np.testing.assert_array_equal(image.affine, np.eye(4))


@pytest.mark.parametrize('fields, problem', [
    (dict(srow_x=0, srow_y=0, srow_z=0, qform_code=0), 'degenerate'),  # all-zero sform
    (dict(srow_x=0, srow_y=0, srow_z=0, quatern_b=0, quatern_c=0, quatern_d=0,
          pixdim=[1, 0, 0, 0, 1, 1, 1, 1]), 'degenerate'),  # all-zero sform and qform
    (dict(srow_x=[np.nan, 0, 0, 0]), 'not finite'),  # NaN in the sform
    (dict(sform_code=0, quatern_b=np.nan), 'not finite'),  # NaN in the qform
])
def test_degenerate_affines_are_named(tmp_path, fields, problem):
    path = write_raw(tmp_path / 'bad.nii.gz', **fields)
    with pytest.raises(VolumeError, match=f'bad.nii.gz: .*affine.*{problem}') as error:
        load_volume(path)
    assert '\n' not in str(error.value)


@pytest.mark.parametrize('name', ['huge.nii', 'huge.nii.gz'])
def test_a_header_claiming_more_voxels_than_the_file_holds_is_refused(tmp_path, name):
    # 2000^3 float32 voxels (30 GiB) claimed by a file of about 1 KB
    path = write_raw(tmp_path / name, shape=(2000, 2000, 2000), data=np.zeros(150, np.float32))
    assert path.stat().st_size < 1100
    with pytest.raises(VolumeError, match=rf'{name}: the header claims \(2000, 2000, 2000\)'):
        load_volume(path)


def test_a_truncated_file_is_named(tmp_path):
    path = write_raw(tmp_path / 'cut.nii', data=VOXELS[:2])
    with pytest.raises(VolumeError, match='cut.nii'):
        load_volume(path)


@pytest.mark.parametrize('name', ['out.nii.gz', 'out.nii'])
def test_save_volume_writes_what_nibabel_writes_with_umask_permissions(tmp_path, name):
    saved = os.umask(0o027)
    try:
        path = save_volume(VOXELS, np.diag([2.0, 2.0, 2.0, 1.0]), tmp_path / 'sub' / name)
    finally:
        os.umask(saved)
    reference = nib.Nifti1Image(VOXELS, np.diag([2.0, 2.0, 2.0, 1.0]))
    reference.set_data_dtype(np.float32)
    nib.save(reference, tmp_path / f'ref_{name}')
    assert path.read_bytes() == (tmp_path / f'ref_{name}').read_bytes()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert os.listdir(path.parent) == [name]  # no temporary left
