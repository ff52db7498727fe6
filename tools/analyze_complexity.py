"""Parameters and GFLOPs (fvcore) of each network of a config, and of the model.

    python tools/analyze_complexity.py configs/fgsb/fgsb_phantom_2subj.py --shape 256 256
    python tools/analyze_complexity.py CONFIG --out complexity.json

fvcore counts one FLOP per multiply-add, as the papers that quote its
numbers do (FGSB, UNSB, Pix2Pix). Each network is measured on one slice
(batch 1) at ``--shape`` (default: the config's training image size); the
whole model's GFLOPs are those of one inference (``translate``: NFE generator
calls for FGSB/UNSB and SynDiff, one for Pix2Pix). The parameters of the whole
model are those of every network it trains. For FGSB, Pix2Pix and SynDiff the
table ends with the paper's Table 6 numbers, for comparison.
"""
import argparse

import torch
from fvcore.nn import FlopCountAnalysis
from mmengine.config import DictAction
from torch import nn

import fgsb.engine  # noqa: F401  (registers components)
import fgsb.models  # noqa: F401
from fgsb.engine.run_config import ConfigError, innermost_dataset, load_config
from fgsb.fileio import write_json_atomic
from fgsb.registry import MODELS

NETWORK_NAMES = ('generator', 'discriminator', 'mi_estimator', 'feature_mlp')
# The paper's Table 6 (parameters in M, GFLOPs), by the algorithm's model type;
# the paper does not say at which size or over which calls it counts
PAPER_TABLE_6 = {'FGSB': (21.12, 76.8), 'Pix2Pix': (14.12, 51.99), 'SynDiff': (67.46, 147.36)}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Parameters and GFLOPs of a config')
    parser.add_argument('config', help='config file (only its `model` is read)')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'),
                        help='input height and width (default: the config\'s image size)')
    parser.add_argument('--out', help='write the numbers as JSON here')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. model.generator.ngf=32')
    return parser.parse_args(argv)


def read_model_config(path, cfg_options=None):
    """The config of ``path`` with ``cfg_options``; it must have a ``model``."""
    try:
        cfg = load_config(path, cfg_options)
    except ConfigError as err:
        raise SystemExit(f'error: {err}')
    if 'model' not in cfg:
        raise SystemExit(f'error: {path} has no `model` key')
    return cfg


def config_image_size(cfg):
    """``size`` of the innermost training data set (through wrappers), or None."""
    dataset = innermost_dataset(cfg.get('train_dataloader', {}).get('dataset'))
    return None if dataset is None else dataset.get('size')


class _Call(nn.Module):
    """Makes ``fn(*inputs)`` traceable by fvcore as a module's forward."""

    def __init__(self, owner, fn):
        super().__init__()
        self.owner = owner
        self.fn = fn

    def forward(self, *inputs):
        return self.fn(*inputs)


def count_gflops(module, inputs, fn=None):
    """fvcore multiply-adds of ``fn(*inputs)`` (default ``module(*inputs)``), in G."""
    target = module if fn is None else _Call(module, fn)
    analysis = FlopCountAnalysis(target, inputs)
    analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    return analysis.total() / 1e9


def count_params(module):
    return sum(p.numel() for p in module.parameters())


def _step_index(batch):
    return torch.zeros(batch, dtype=torch.long)


def network_calls(model, shape):
    """``{name: (module, inputs, fn)}``: how each network of ``model`` is called
    in training, on one ``(1, C, H, W)`` slice."""
    height, width = shape
    calls = {}
    generator = getattr(model, 'generator', None)
    for name in NETWORK_NAMES:
        net = getattr(model, name, None)
        if net is None:
            continue
        if name == 'feature_mlp':
            feats = _encoder_features(model, generator, shape)
            ids = [torch.arange(min(model.num_patches, f.shape[-2] * f.shape[-1]))[None]
                   for f in feats]
            calls[name] = (net, (feats, ids), None)
            continue
        in_channels = getattr(net, 'in_channels', 1)
        image = torch.zeros(1, in_channels, height, width)
        if name == 'mi_estimator':
            # E(p, k, p') reads the two pairs (X_k, Yhat) stacked along channels
            pair = torch.zeros(1, in_channels // 2, height, width)
            calls[name] = (net, (pair, _step_index(1), pair), None)
        elif getattr(net, 'z_dim', None) is not None:
            calls[name] = (net, (image, _step_index(1), torch.zeros(1, net.z_dim)), None)
        elif getattr(net, 'time_conditional', False):
            calls[name] = (net, (image, _step_index(1)), None)
            if hasattr(net, 'forward_with_reconstructions'):
                calls[f'{name} (+SSL decoders)'] = (
                    net, (image, _step_index(1)),
                    lambda x, t, net=net: net.forward_with_reconstructions(x, t, 0))
        else:
            calls[name] = (net, (image,), None)
    return calls


def _encoder_features(model, generator, shape):
    image = torch.zeros(1, generator.in_channels, *shape)
    with torch.no_grad():
        return generator.encode(image, _step_index(1), torch.zeros(1, generator.z_dim),
                                model.nce_layers)


def analyze(cfg, shape):
    """The numbers of one config: per network and for the whole model."""
    model = MODELS.build(cfg.model).eval()
    rows = {}
    for name, (net, inputs, fn) in network_calls(model, shape).items():
        with torch.no_grad():
            gflops = count_gflops(net, inputs, fn)
        rows[name] = {'params_m': round(count_params(net) / 1e6, 4),
                      'gflops': round(gflops, 3)}
    source = torch.zeros(1, model.source_channels, *shape)
    with torch.no_grad():
        inference = count_gflops(model, (source,), model.translate)
    whole = {'params_m': round(count_params(model) / 1e6, 4),
             'gflops_inference': round(inference, 3), 'nfe': model.num_steps}
    result = {'config': cfg.filename, 'model_type': cfg.model['type'],
              'shape': list(shape), 'flop_unit': 'fvcore (1 multiply-add = 1 FLOP)',
              'networks': rows, 'model': whole}
    if cfg.model['type'] in PAPER_TABLE_6:
        params, gflops = PAPER_TABLE_6[cfg.model['type']]
        result['paper_table_6'] = {'params_m': params, 'gflops': gflops}
    return result


def format_table(result):
    lines = [f"{result['model_type']} at {result['shape'][0]}x{result['shape'][1]}, "
             'batch 1 (fvcore: 1 multiply-add = 1 FLOP)',
             f"{'network':<34}{'params (M)':>12}{'GFLOPs':>12}"]
    for name, row in result['networks'].items():
        lines.append(f"{name:<34}{row['params_m']:>12.2f}{row['gflops']:>12.2f}")
    whole = result['model']
    lines.append(f"{'whole model (inference, NFE ' + str(whole['nfe']) + ')':<34}"
                 f"{whole['params_m']:>12.2f}{whole['gflops_inference']:>12.2f}")
    paper = result.get('paper_table_6')
    if paper is not None:
        lines.append(f"{'the paper (Table 6)':<34}{paper['params_m']:>12.2f}"
                     f"{paper['gflops']:>12.2f}")
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    cfg = read_model_config(args.config, args.cfg_options)
    shape = args.shape or [config_image_size(cfg)] * 2
    if shape[0] is None:
        raise SystemExit(f'error: {args.config} names no training image size: '
                         'give --shape H W')
    result = analyze(cfg, tuple(shape))
    print(format_table(result))
    if args.out:
        write_json_atomic(result, args.out)
        print(f'written to {args.out}')
    return result


if __name__ == '__main__':
    main()
