"""Can a file be written there? Asked before any work starts.

A tool that finds an unwritable output only when it saves has already
spent the whole synthesis (or test) on it, and fails with a raw traceback.
"""
import os
from pathlib import Path


def unwritable_reason(path):
    """Why a file cannot be written at ``path``, as one line naming it, or None.

    The path may not exist yet (nor its folders, which the writer creates):
    what is checked is that it is not a folder, that no component above it
    is a file, and that its nearest existing folder is writable.
    """
    path = Path(path)
    if path.is_dir():
        return f'{path} is a folder; a file is written there'
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        return f'{path}: {folder} is a file, not a folder'
    if not os.access(folder, os.W_OK | os.X_OK):
        return f'{path}: the folder {folder} is not writable'
    return None
