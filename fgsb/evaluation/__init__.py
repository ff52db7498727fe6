from . import volume_synthesis_metric
