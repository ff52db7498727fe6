from .model_loading import ModelLoadError, default_device, load_model
from .reference_scores import reference_scores
from .synthesis_settings import SynthesisSettings, synthesis_settings
from .volume_input import PreparedVolume, check_volume_input, prepare_volume
from .volume_synthesis import (OUTPUT_SCALE, SynthesisError, SynthesisResult, check_sampling,
                               synthesize_volume)
