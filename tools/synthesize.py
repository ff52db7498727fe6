"""Synthesise the missing contrast of whole NIfTI volumes with a trained model.

    python tools/synthesize.py CONFIG CHECKPOINT --input T1.nii.gz --output T2_SYN.nii.gz
    python tools/synthesize.py CONFIG CHECKPOINT --input 'scans/*/t1.nii.gz' --output out/ \\
        --samples 8 --uncertainty out_std/ --nfe 5 --seed 0
    python tools/synthesize.py CONFIG CHECKPOINT --input T1.nii.gz --output T2_SYN.nii.gz \\
        --samples 8 --reference T2.nii.gz --report report.html

One file, a folder (its *.nii / *.nii.gz, hidden files aside) or a quoted
glob. With several inputs --output (and --uncertainty) are folders: each
input's file goes to the same relative place as the input has under the
inputs' common folder, named <input name>_<target>.nii.gz (and
_<target>_std.nii.gz).

Before any volume is synthesised every input is checked (readable, finite,
a brain to normalise) and every output location (writable, not a folder,
not existing unless --overwrite), and the config must be the one the
checkpoint was trained with; a problem stops the run with one line naming
it, before any output is written.
"""
import argparse
import glob
import os
import sys
import textwrap
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from fgsb.apis import (OUTPUT_SCALE, ModelLoadError, SynthesisError, check_sampling,
                       check_volume_input, default_device, load_model, synthesis_settings,
                       synthesize_volume)
from fgsb.apis.checkpoint_record import trained_settings_mismatch
from fgsb.apis.output_locations import unwritable_reason
from fgsb.apis.reference_scores import read_reference
from fgsb.apis.reference_volume import scores_against_reference
from fgsb.datasets.nifti_io import VolumeError, load_volume, save_volume
from fgsb.datasets.slice_pipeline import normalisation_range
from fgsb.engine.checkpoint_loading import CheckpointError
from fgsb.engine.precision import add_precision_argument, requested_precision, resolve_precision
from fgsb.evaluation.finite_output import NonFiniteOutputError
from fgsb.fileio import remove_stale_temporaries, write_text_atomic
from fgsb.report import synthesis_report
from fgsb.samplers.slice_noise import SAMPLING_MODES

NIFTI_SUFFIXES = ('.nii.gz', '.nii')


@dataclass
class Job:
    """One input volume and the files it becomes."""
    input: Path
    output: Path
    uncertainty: Path = None
    steps: list = field(default_factory=list)

    def outputs(self):
        return [p for p in (self.output, self.uncertainty, *self.steps) if p is not None]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Synthesise the target contrast of whole NIfTI volumes.',
        epilog=textwrap.fill(f'Output intensity scale: {OUTPUT_SCALE} Outputs have the '
                             "input's shape, affine and orientation.", width=79),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='config the checkpoint was trained with')
    parser.add_argument('checkpoint', help='trained checkpoint (.pth)')
    parser.add_argument('--input', required=True,
                        help='source volume: a NIfTI file, a folder, or a quoted glob')
    parser.add_argument('--output', required=True,
                        help='output NIfTI file (one input) or folder')
    parser.add_argument('--nfe', type=int, default=None,
                        help='generator evaluations a slice (bridge models; default: the '
                             'trained number of steps)')
    parser.add_argument('--samples', type=int, default=1,
                        help='stochastic samples K; the output is their mean')
    parser.add_argument('--uncertainty', default=None,
                        help='write the per-voxel standard deviation of the K samples here '
                             '(file or folder, like --output; needs --samples >= 2)')
    parser.add_argument('--seed', type=int, default=0, help='seed of every random draw')
    parser.add_argument('--sampling', choices=SAMPLING_MODES, default='independent',
                        help='bridge models: fresh draws of z and the bridge noise for every '
                             'slice (independent), one set for the whole volume (shared), or '
                             'draws correlated along the slices (correlated, with '
                             '--slice-correlation); docs/volumes.md')
    parser.add_argument('--slice-correlation', type=float, default=None,
                        help='neighbour correlation rho in (0, 1) of --sampling correlated')
    parser.add_argument('--save-steps', action='store_true',
                        help="also write each step's prediction as <output>_step<j>.nii.gz")
    parser.add_argument('--brain-mask', default=None,
                        help='brain mask on the input grid (one input); default: the '
                             'estimate training uses for subjects without one')
    parser.add_argument('--reference', default=None,
                        help='real target scan on the input grid (one input): print '
                             'PSNR/SSIM/NRMSE of the output against it, the through-plane '
                             "scores and, with --samples >= 2, the uncertainty's "
                             'calibration (docs/volumes.md)')
    parser.add_argument('--report', default=None,
                        help='write one self-contained HTML page (one input) with axial, '
                             'coronal and sagittal views of the input, the output, the '
                             'uncertainty and, with --reference, the real scan, the error '
                             'and the scores')
    parser.add_argument('--source-contrast', default=None,
                        help="the input's contrast (e.g. t1); default: guessed from the file "
                             "name; a warning when it is not the model's source")
    parser.add_argument('--batch-size', type=int, default=16, help='slices a generator call')
    parser.add_argument('--device', default=None,
                        help='e.g. cpu, cuda, cuda:1 (default: CUDA when present)')
    add_precision_argument(parser)
    parser.add_argument('--overwrite', action='store_true',
                        help='replace existing output files')
    return parser.parse_args(argv)


def nifti_stem(path):
    name = Path(path).name
    for suffix in NIFTI_SUFFIXES:
        if name.endswith(suffix):
            return name[:-len(suffix)]
    return name


def resolve_inputs(pattern):
    """The input files of ``--input``: a file, a folder's NIfTIs, or a glob."""
    path = Path(pattern)
    if path.is_file():
        return [path]
    if path.is_dir():
        # hidden files are no scans (a killed writer's temporaries among them)
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith('.')
                       and p.name.endswith(NIFTI_SUFFIXES))
        if not files:
            raise SystemExit(f'error: {path}: folder holds no .nii or .nii.gz file')
        return files
    if glob.has_magic(pattern):
        files = sorted(Path(p) for p in glob.glob(pattern, recursive=True) if Path(p).is_file())
        if not files:
            raise SystemExit(f'error: no file matches {pattern}')
        return files
    raise SystemExit(f'error: {path}: input file not found')


def plan_jobs(inputs, args, target, nfe):
    """Output paths of every input, checked before any work is done."""
    single_file = (len(inputs) == 1 and not Path(args.output).is_dir()
                   and str(args.output).endswith(NIFTI_SUFFIXES))
    if len(inputs) == 1 and not single_file and not Path(args.output).is_dir() \
            and not args.output.endswith(os.sep):
        raise SystemExit(f'error: --output {args.output} must end in .nii or .nii.gz (or be '
                         'a folder)')
    if len(inputs) > 1 and str(args.output).endswith(NIFTI_SUFFIXES):
        raise SystemExit(f'error: {len(inputs)} inputs need a folder as --output, got '
                         f'{args.output}')
    root = Path(os.path.commonpath([str(p.parent.resolve()) for p in inputs]))
    jobs = []
    for path in inputs:
        if single_file:
            output = Path(args.output)
            uncertainty = Path(args.uncertainty) if args.uncertainty else None
        else:
            relative = path.parent.resolve().relative_to(root)
            output = Path(args.output) / relative / f'{nifti_stem(path)}_{target}.nii.gz'
            uncertainty = (Path(args.uncertainty) / relative
                           / f'{nifti_stem(path)}_{target}_std.nii.gz'
                           if args.uncertainty else None)
        steps = ([output.with_name(f'{nifti_stem(output)}_step{j}.nii.gz')
                  for j in range(1, nfe + 1)] if args.save_steps else [])
        jobs.append(Job(path, output, uncertainty, steps))
    check_jobs(jobs, args.overwrite)
    return jobs


def check_jobs(jobs, overwrite):
    inputs = {job.input.resolve() for job in jobs}
    seen = set()
    for job in jobs:
        for path in job.outputs():
            if not path.name.endswith(NIFTI_SUFFIXES):
                raise SystemExit(f'error: {path}: output names must end in .nii or .nii.gz')
            resolved = path.resolve()
            if resolved in inputs:
                raise SystemExit(f'error: {path} would overwrite an input volume')
            if resolved in seen:
                raise SystemExit(f'error: two outputs would be written to {path}')
            seen.add(resolved)
            reason = unwritable_reason(path)
            if reason:
                raise SystemExit(f'error: {reason}')
            if path.exists() and not overwrite:
                raise SystemExit(f'error: {path} exists; pass --overwrite to replace it')


def check_inputs(jobs, settings, args):
    """Every input checked as synthesis will prepare it, short of building
    the network inputs (and the reference read on its grid), so that a bad
    file stops the run before any output.
    A single input without a reference is checked by its own synthesis,
    before its output is written."""
    if len(jobs) == 1 and not args.reference:
        return
    for job in jobs:
        volume = check_volume_input(job.input, settings, args.brain_mask)
        if args.reference:
            reference = read_reference(args.reference, volume.data.shape, volume.image.affine)
            normalisation_range(reference, volume.brain, settings.slices, args.reference)


def check_report(path, overwrite):
    if not path.endswith(('.html', '.htm')):
        raise SystemExit(f'error: --report {path} must end in .html')
    reason = unwritable_reason(path)
    if reason:
        raise SystemExit(f'error: {reason}')
    if Path(path).exists() and not overwrite:
        raise SystemExit(f'error: {path} exists; pass --overwrite to replace it')


def print_scores(scores, reference):
    print(f'against {reference}: PSNR {scores["PSNR"]:.2f} dB  SSIM {scores["SSIM"]:.4f}  '
          f'NRMSE {scores["NRMSE"]:.4f} ({scores["num_slices"]} slices, [0, 1] scale)')
    print(f'through-plane: coronal PSNR {scores["PSNR_coronal"]:.2f} dB SSIM '
          f'{scores["SSIM_coronal"]:.4f}  sagittal PSNR {scores["PSNR_sagittal"]:.2f} dB SSIM '
          f'{scores["SSIM_sagittal"]:.4f}  z-gradient error '
          f'{scores["through_plane_error"]:.4f}')
    if 'uncertainty_spearman' in scores:
        print(f'uncertainty: Spearman(std, |error|) {scores["uncertainty_spearman"]:.3f}  '
              f'mean |error| {scores["error_most_uncertain"]:.4f} in the '
              f'{scores["most_uncertain_fraction"]:.0%} most uncertain brain voxels, '
              f'{scores["error_rest"]:.4f} in the rest')


def write_job(job, result):
    """Write a job's files; on failure remove those already written (no partial set)."""
    arrays = [(job.output, result.synthetic)]
    if job.uncertainty is not None:
        arrays.append((job.uncertainty, result.uncertainty))
    arrays += list(zip(job.steps, result.steps or []))
    written = []
    try:
        for path, array in arrays:
            save_volume(array, result.affine, path, header=result.header)
            written.append(path)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise


def run(args):
    if args.uncertainty and args.samples < 2:
        raise SystemExit('error: --uncertainty needs --samples >= 2 (one sample has no spread)')
    inputs = resolve_inputs(args.input)
    if len(inputs) > 1 and (args.reference or args.brain_mask or args.report):
        raise SystemExit('error: --reference, --brain-mask and --report take one input '
                         f'volume, got {len(inputs)} from {args.input}')
    if args.report:
        check_report(args.report, args.overwrite)
    device = args.device or default_device()
    model = load_model(args.config, args.checkpoint, device=device)
    try:
        precision = resolve_precision(requested_precision(args.precision, model.cfg), device)
    except ValueError as err:
        raise SystemExit(f'error: {err}') from err
    print(f'precision: {precision.name} ({precision.reason})')
    settings = synthesis_settings(model.cfg, args.config)
    mismatch = trained_settings_mismatch(settings, model.dataset_meta, args.checkpoint,
                                         args.config)
    if mismatch:
        raise SystemExit(f'error: {mismatch}')
    nfe = check_sampling(model, args.nfe, args.samples, args.sampling, args.slice_correlation)
    jobs = plan_jobs(inputs, args, settings.target, nfe)
    check_inputs(jobs, settings, args)
    for folder in sorted({path.parent for job in jobs for path in job.outputs()}):
        remove_stale_temporaries(folder)

    from tqdm import tqdm
    for job in tqdm(jobs, unit='volume', desc='volumes', disable=len(jobs) == 1):
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always', UserWarning)
            result = synthesize_volume(
                model, job.input, nfe=args.nfe, samples=args.samples, seed=args.seed,
                batch_size=args.batch_size, brain_mask=args.brain_mask,
                source_contrast=args.source_contrast, return_steps=args.save_steps,
                progress=True, settings=settings, precision=precision,
                sampling=args.sampling, slice_correlation=args.slice_correlation)
        for warning in caught:
            print(f'warning: {warning.message}', file=sys.stderr)
        real, scores = (scores_against_reference(result, args.reference, settings)
                        if args.reference else (None, None))
        write_job(job, result)
        print(f'{job.input} -> {job.output} ({settings.target}, NFE {result.nfe}, '
              f'{result.samples} sample(s), {precision.name}, '
              f'{time.perf_counter() - start:.1f} s)')
        if scores is not None:
            print_scores(scores, args.reference)
        if args.report:
            page = synthesis_report(result, load_volume(job.input)[1], settings.target,
                                    job.input.name, scores, real)
            write_text_atomic(page, args.report)
            print(f'report written to {args.report}')


def main(argv=None):
    args = parse_args(argv)
    try:
        run(args)
    except NonFiniteOutputError as err:
        raise SystemExit(f'error: {err} (checkpoint {args.checkpoint}); nothing was written '
                         'for it') from err
    except (VolumeError, ModelLoadError, SynthesisError, CheckpointError) as err:
        raise SystemExit(f'error: {err}') from err


if __name__ == '__main__':
    main()
