"""Distributed training that works with and without CUDA.

MMEngine 0.10's ``pytorch`` and ``slurm`` launchers call
``torch.cuda.set_device`` unconditionally, and its DDP wrappers are built
with ``device_ids=[LOCAL_RANK]``; both fail on a machine without CUDA. A GAN
whose ``train_step`` drives several optimisers also needs each network in
its own DDP (MMagic's ``MMSeparateDistributedDataParallel``), not one DDP
around the whole model. This module:

- ``setup_distributed(cfg)``: called by ``tools/train.py`` before the
  Runner. Without CUDA it starts a gloo process group itself (from
  torchrun's or Slurm's environment), so that the Runner finds one and skips
  MMEngine's CUDA-only launcher; with CUDA it leaves MMEngine's launcher
  (nccl) alone. It also makes ``SeparateDistributedDataParallel`` the
  default model wrapper.
- ``SeparateDistributedDataParallel``: one DDP a trained network, with
  ``device_ids`` only on CUDA; the wrapped networks still answer their own
  attributes and methods (``generator.z_dim``, ``generator.encode``,
  ``discriminator.forward_with_reconstructions``).
"""
import os
import subprocess

import torch
import torch.distributed as dist
from mmengine.device import get_device
from mmengine.model import MMDistributedDataParallel, MMSeparateDistributedDataParallel
from torch import nn

from fgsb.registry import MODEL_WRAPPERS

# Scoped: the Runner looks the wrapper type up in MMEngine's root registry.
DEFAULT_WRAPPER = dict(type='fgsb.SeparateDistributedDataParallel', broadcast_buffers=False,
                       find_unused_parameters=False)


class NetworkDistributedDataParallel(MMDistributedDataParallel):
    """DDP around one network that still exposes the network's attributes.

    Gradients are averaged by hooks on the parameters, which fire for every
    backward pass through them; a method other than ``forward`` (``encode``)
    reaches the network directly and its gradients are averaged with the
    rest, provided that a ``forward`` of the same iteration ran through DDP
    (FGSB's generator always does).
    """

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            if name == 'module':  # not set yet: no network to ask
                raise
            return getattr(self.module, name)


@MODEL_WRAPPERS.register_module()
class SeparateDistributedDataParallel(MMSeparateDistributedDataParallel):
    """Each trained network of the model in its own DDP, on CPU (gloo) or CUDA.

    Args:
        module: the algorithm (FGSB, UNSB, Pix2Pix).
        broadcast_buffers, find_unused_parameters: as in DDP.
        **kwargs: passed to each network's DDP; ``device_ids`` and
            ``output_device`` are dropped when the model is not on CUDA.
    """

    def __init__(self, module: nn.Module, broadcast_buffers: bool = False,
                 find_unused_parameters: bool = False, **kwargs):
        # DistributedDataParallel.__init__ is skipped on purpose (as MMEngine
        # does): the networks are wrapped one by one below.
        nn.Module.__init__(self)
        self.module = module
        device = get_device()
        if not str(device).startswith('cuda'):
            kwargs.pop('device_ids', None)
            kwargs.pop('output_device', None)
        for name, network in module._modules.items():
            network = network.to(device)
            if any(p.requires_grad for p in network.parameters()):
                network = NetworkDistributedDataParallel(
                    module=network, broadcast_buffers=broadcast_buffers,
                    find_unused_parameters=find_unused_parameters, **kwargs)
            module._modules[name] = network


def _slurm_environment():
    """RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR/PORT from Slurm's variables
    (what MMEngine's slurm launcher sets before its CUDA call)."""
    os.environ.setdefault('RANK', os.environ['SLURM_PROCID'])
    os.environ.setdefault('WORLD_SIZE', os.environ['SLURM_NTASKS'])
    os.environ.setdefault('LOCAL_RANK', os.environ.get('SLURM_LOCALID', '0'))
    os.environ.setdefault('MASTER_PORT', '29500')
    if 'MASTER_ADDR' not in os.environ:
        nodes = os.environ['SLURM_NODELIST']
        os.environ['MASTER_ADDR'] = subprocess.getoutput(
            f'scontrol show hostname {nodes} | head -n1')


def init_cpu_process_group(launcher: str) -> bool:
    """Start a gloo process group for ``launcher`` when CUDA is absent.

    Returns whether this call started one. With CUDA, or with no launcher,
    or when a group exists already, nothing happens (MMEngine's launcher
    does the job).
    """
    if launcher in (None, 'none') or torch.cuda.is_available() or dist.is_initialized():
        return False
    if launcher == 'slurm':
        _slurm_environment()
    elif launcher == 'mpi':
        os.environ.setdefault('RANK', os.environ['OMPI_COMM_WORLD_RANK'])
        os.environ.setdefault('WORLD_SIZE', os.environ['OMPI_COMM_WORLD_SIZE'])
        os.environ.setdefault('LOCAL_RANK', os.environ['OMPI_COMM_WORLD_LOCAL_RANK'])
        os.environ.setdefault('MASTER_PORT', '29500')
    elif launcher != 'pytorch':
        raise ValueError(f"unknown launcher '{launcher}': use none, pytorch, slurm or mpi")
    missing = [k for k in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT')
               if k not in os.environ]
    if missing:
        raise RuntimeError(f'--launcher {launcher} needs the environment variables '
                           f'{missing}: start the job with torchrun (tools/dist_train.sh) '
                           'or srun')
    dist.init_process_group(backend='gloo', rank=int(os.environ['RANK']),
                            world_size=int(os.environ['WORLD_SIZE']))
    return True


def setup_distributed(cfg):
    """Prepare ``cfg`` (and the process group on CPU) for its ``launcher``."""
    launcher = cfg.get('launcher', 'none')
    if launcher in (None, 'none'):
        return cfg
    if cfg.get('model_wrapper_cfg') is None:
        cfg.model_wrapper_cfg = dict(DEFAULT_WRAPPER)
    if init_cpu_process_group(launcher):
        cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
    return cfg
