"""How good is each step of a trained bridge model's chain?

    python tools/analyze_bridge_steps.py CONFIG CHECKPOINT                # test split
    python tools/analyze_bridge_steps.py CONFIG CHECKPOINT --split val --val-subjects 2

For every slice of the split it runs the inference chain (docs/method.md §4) and
scores each intermediate prediction ``Yhat_j = G(X_j, j, z)`` against the
real target. For a guided model (FGSB) it also runs the training chain with
the target's full guidance up to each step ``k`` and scores ``G(X_k, k, z)``:
that is what training shows the generator. A gap between the two rows is the
train/inference gap of the guided chain (docs/results.md). A one-step model
(Pix2Pix) gets one column, its only prediction, for comparison.

PSNR here is per slice, in the network's [-1, 1] space (data range 2, whole
slice), averaged over slices: a quick diagnostic, not the volume metric of
``tools/test.py``.
"""
import argparse
import sys

import numpy as np
import torch
from mmengine.config import DictAction
from skimage.metrics import peak_signal_noise_ratio

import fgsb.engine  # noqa: F401  (registers components)
from fgsb.apis import load_model
from fgsb.datasets.batch_keys import SOURCE, TARGET
from fgsb.engine.run_config import ConfigError, load_config
from fgsb.fileio import write_json_atomic
from fgsb.registry import DATASETS


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='PSNR of every step of a bridge chain')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--split', default='test', choices=('train', 'val', 'test'))
    parser.add_argument('--val-subjects', type=int, default=0, metavar='N',
                        help='subjects carved from train as the val split (as in training)')
    parser.add_argument('--every', type=int, default=1, metavar='K',
                        help='score every K-th slice (default: all)')
    parser.add_argument('--batch-size', type=int, default=16)
    parser.add_argument('--seed', type=int, default=0, help='seed of z and of the noise')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--out', help='also write the numbers as JSON here')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys')
    args = parser.parse_args(argv)
    if args.every < 1 or args.batch_size < 1 or args.val_subjects < 0:
        parser.error('--every and --batch-size must be >= 1, --val-subjects >= 0')
    return args


def slice_psnr(prediction, target):
    """PSNR of each slice of a batch in [-1, 1] space."""
    return [peak_signal_noise_ratio(t, p, data_range=2.0)
            for p, t in zip(prediction.float().cpu().numpy(), target.float().cpu().numpy())]


def step_scores(model, source, target, generator):
    """``(inference, guided)``: per-step PSNR lists of one batch (guided is None
    for a model that trains without the target's guidance)."""
    _, predictions = model.translate(source, generator=generator, return_steps=True)
    inference = [slice_psnr(p, target) for p in predictions]
    if not model.is_guided:
        return inference, None
    guided = [slice_psnr(p, target)
              for p in model.training_predictions(source, target, generator)]
    return inference, guided


def main(argv=None):
    args = parse_args(argv)
    try:
        cfg = load_config(args.config, args.cfg_options)
    except ConfigError as err:
        raise SystemExit(f'error: {err}')
    model = load_model(cfg, args.checkpoint, device=args.device)
    dataset_cfg = dict(cfg.test_dataloader.dataset, split=args.split,
                       val_subjects=args.val_subjects)
    dataset = DATASETS.build(dataset_cfg)
    indices = list(range(0, len(dataset), args.every))
    if not indices:
        raise SystemExit(f'error: the {args.split} split of {args.config} has no slices')
    generator = torch.Generator(device=args.device).manual_seed(args.seed)
    inference, guided = [], []
    for start in range(0, len(indices), args.batch_size):
        items = [dataset[i] for i in indices[start:start + args.batch_size]]
        source = torch.stack([item[SOURCE] for item in items]).to(args.device)
        target = torch.stack([item[TARGET] for item in items]).to(args.device)
        with torch.no_grad():
            inf, gui = step_scores(model, source, target, generator)
        inference.append(inf)
        if gui is not None:
            guided.append(gui)
        print(f'{min(start + args.batch_size, len(indices))}/{len(indices)} slices',
              file=sys.stderr, flush=True)
    result = dict(config=args.config, checkpoint=str(args.checkpoint), split=args.split,
                  slices=len(indices),
                  inference=[float(np.mean(sum((b[j] for b in inference), [])))
                             for j in range(len(inference[0]))])
    if guided:
        result['guided'] = [float(np.mean(sum((b[k] for b in guided), [])))
                            for k in range(len(guided[0]))]
    print(f'{len(indices)} slices of the {args.split} split; PSNR (dB) at each step j:')
    print('inference chain : ' + '  '.join(f'{v:6.2f}' for v in result['inference']))
    if guided:
        print('guided chain    : ' + '  '.join(f'{v:6.2f}' for v in result['guided']))
    if args.out:
        write_json_atomic(result, args.out)
    return result


if __name__ == '__main__':
    main()
