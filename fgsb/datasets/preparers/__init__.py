"""Raw MR data sets -> the prepared layout (docs/data.md).

One module a data set registers its preparer in ``PREPARERS``;
``tools/prepare_data.py`` gives each one a sub-command.
"""
from . import brats2020, ixi, paired, valdo, wmh2017  # noqa: F401  (registration)
