"""Weight initialisation of pix2pix/CUT: conv and linear weights drawn from
N(0, gain) (or Xavier/Kaiming), biases zero, batch-norm scales from N(1, gain)."""
import torch.nn as nn

INIT_TYPES = ('normal', 'xavier', 'kaiming')


def init_weights(module: nn.Module, init_type: str = 'normal', gain: float = 0.02) -> nn.Module:
    """Initialise every conv, transposed conv and linear layer of ``module`` in place."""
    if init_type not in INIT_TYPES:
        raise ValueError(f"init_type must be one of {INIT_TYPES}, got {init_type!r}")

    def init_layer(layer):
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            if init_type == 'normal':
                nn.init.normal_(layer.weight, 0.0, gain)
            elif init_type == 'xavier':
                nn.init.xavier_normal_(layer.weight, gain=gain)
            else:
                nn.init.kaiming_normal_(layer.weight, a=0, mode='fan_in')
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        elif isinstance(layer, nn.BatchNorm2d):
            nn.init.normal_(layer.weight, 1.0, gain)
            nn.init.zeros_(layer.bias)

    module.apply(init_layer)
    return module
