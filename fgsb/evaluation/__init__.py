from . import volume_synthesis_metric
from . import lesion_metric
from .finite_output import NonFiniteOutputError
