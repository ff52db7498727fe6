"""The machine a benchmark ran on, as recorded with its numbers."""
import os
import platform

import torch

from fgsb.engine.precision import native_bf16


def environment(device):
    info = {'device': device, 'torch': torch.__version__,
            'threads': torch.get_num_threads(), 'python': platform.python_version()}
    if device.startswith('cuda'):
        info['device_name'] = torch.cuda.get_device_name(torch.device(device))
    else:
        info['device_name'] = cpu_name()
        info['cpu_count'] = os.cpu_count()
        info['cpu_native_bf16'] = native_bf16('cpu')
    return info


def cpu_name():
    """The CPU's model name from /proc/cpuinfo, else what Python knows."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'cpu'
