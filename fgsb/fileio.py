"""Small file helpers shared by the command-line tools."""
import json
import os
import os.path as osp
import tempfile


def write_json_atomic(data, path):
    """Write ``data`` as JSON through a temporary file and a rename, so that
    a reader never sees a half-written file."""
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{osp.basename(path)}.', suffix='.tmp', dir=folder)
    try:
        with os.fdopen(fd, 'w') as f:
            json.dump(data, f, indent=2)
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise
