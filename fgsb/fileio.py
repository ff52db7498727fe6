"""Small file helpers shared by the command-line tools."""
import json
import os
import os.path as osp
import tempfile


def write_text_atomic(text, path):
    """Write ``text`` through a temporary file and a rename, so that a reader
    never sees a half-written file; the temporary file is removed on failure."""
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{osp.basename(path)}.', suffix='.tmp', dir=folder)
    try:
        with os.fdopen(fd, 'w', newline='') as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def write_json_atomic(data, path):
    """Write ``data`` as indented JSON, atomically (see :func:`write_text_atomic`)."""
    write_text_atomic(json.dumps(data, indent=2), path)
