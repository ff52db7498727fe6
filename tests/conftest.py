import os

import numpy as np
import pytest
import torch

# The suite runs on 2 shared cores: one thread per test process is fastest.
torch.set_num_threads(1)
os.environ.setdefault('OMP_NUM_THREADS', '1')


@pytest.fixture(autouse=True)
def _seed_everything():
    torch.manual_seed(0)
    np.random.seed(0)
    yield
