from . import algorithms
from . import networks
