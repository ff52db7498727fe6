from . import collate
from . import paired_slice_dataset
from . import negative_pair_dataset
from . import lesion_mask_input_dataset
from . import phantom_slice_dataset
from . import lesion_slice_sampler
