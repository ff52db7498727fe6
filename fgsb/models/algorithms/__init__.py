from . import pix2pix
from . import fgsb
from . import syndiff
