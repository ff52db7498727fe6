"""Train (or resume) and test one experiment through the command-line tools.

Each experiment trains with ``tools/train.py`` into ``<work root>/<name>``
and is scored with ``tools/test.py`` (``metrics.json``); the study record
keeps the times, the commands and the checkpoint, so that an interrupted
study resumes where it stopped.
"""
import datetime
import os
import resource
import runpy
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

from fgsb.datasets.prepared_layout import carve_validation, read_splits, splits_path
from fgsb.engine.resume_checkpoint import recorded_checkpoint
from fgsb.engine.run_config import (LOADERS, innermost_dataset, innermost_dataset_key,
                                    load_config)
from fgsb.fileio import write_json_atomic
from .experiments import FLAIR
from .records import METRICS, RECORD, read_record
from .settings import NO_IN_TRAINING_VALIDATION

ROOT = Path(__file__).resolve().parents[2]
# study v1's numbers (docs/results.md) were scored with the v1 lesion rule
LESION_RULE = 'phantom_v1'


def check_configs_exist(experiments, tool):
    """SystemExit naming the first config of ``experiments`` that is not
    there: configs and the phantom's data_root are relative to the
    repository root, so ``tool`` must run from it."""
    missing = [e.config for e in experiments if not Path(e.config).is_file()]
    if missing:
        raise SystemExit(f'error: {missing[0]} not found; run tools/{tool} from the '
                         f'repository root ({ROOT})')


def study_options(experiment, settings):
    """The --cfg-options of one experiment's runs: the study's, then the user's."""
    options = [NO_IN_TRAINING_VALIDATION]
    if experiment.task == FLAIR:
        options += ['test_evaluator.type=LesionPreservationMetric',
                    f'test_evaluator.segmentation={LESION_RULE}']
    if settings.validation:
        # Same seed in every data set, so train and val carve the same subjects.
        cfg = load_config(str(ROOT / experiment.config), list(settings.cfg_options))
        keys = {loader: innermost_dataset_key(cfg, loader) for loader in LOADERS}
        options.append(f'{keys["train_dataloader"]}.val_subjects={settings.validation}')
        for loader in ('val_dataloader', 'test_dataloader'):
            options += [f'{keys[loader]}.split=val',
                        f'{keys[loader]}.val_subjects={settings.validation}']
    return options + list(settings.cfg_options)


def experiment_config(experiment, settings):
    """The config of one experiment as its train and test runs see it."""
    return load_config(str(ROOT / experiment.config), study_options(experiment, settings))


def count_train_subjects(cfg):
    """How many subjects the training set of ``cfg`` reads: its ``subjects``,
    else its split of the prepared root (after carving ``val_subjects``)."""
    dataset = innermost_dataset(cfg.train_dataloader.dataset)
    if dataset.get('subjects'):
        return len(dataset['subjects'])
    root = dataset['data_root']
    splits, _ = read_splits(root)
    if dataset.get('val_subjects'):
        splits = carve_validation(splits, dataset['val_subjects'], dataset.get('seed', 0),
                                  splits_path(root))
    ids = splits[dataset.get('split', 'train')]
    return len(ids) if dataset.get('num_subjects') is None else dataset['num_subjects']


def last_checkpoint(work_dir):
    """The checkpoint training saved last in ``work_dir``, as a path under it
    (None if there is none)."""
    path = recorded_checkpoint(work_dir)
    return path if path is not None and os.path.isfile(path) else None


def run_experiment(experiment, settings):
    """Train (or resume) and test one experiment; write its study record."""
    work_dir = settings.work_root / experiment.name
    if settings.force and work_dir.exists():
        shutil.rmtree(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    record = read_record(work_dir)
    options = study_options(experiment, settings)
    option_args = ['--cfg-options', *options]
    if 'train_seconds' not in record:
        train_args = [experiment.config, '--work-dir', str(work_dir), *option_args]
        resumed = last_checkpoint(work_dir) is not None
        if resumed:
            train_args.append('--resume')
        print(f'[study] {experiment.name}: training{" (resumed)" if resumed else ""}',
              flush=True)
        load = os.getloadavg()[0]
        seconds, cpu = run_tool('train.py', train_args, settings)
        record.update(train_seconds=seconds, train_cpu_seconds=cpu, threads=settings.threads,
                      load_average=[round(load, 2), round(os.getloadavg()[0], 2)],
                      resumed=resumed, train_command=command_line('train.py', train_args),
                      checkpoint=last_checkpoint(work_dir))
        write_json_atomic(record, work_dir / RECORD)
    if not record.get('checkpoint'):
        raise RuntimeError(f'{work_dir}: training left no checkpoint')
    test_args = [experiment.config, record['checkpoint'], '--work-dir', str(work_dir),
                 '--out', str(work_dir / METRICS), *option_args]
    print(f'[study] {experiment.name}: testing {record["checkpoint"]}', flush=True)
    record['test_seconds'], record['test_cpu_seconds'] = run_tool('test.py', test_args,
                                                                  settings)
    record['test_command'] = command_line('test.py', test_args)
    record['train_subjects'] = count_train_subjects(
        load_config(str(ROOT / experiment.config), options))
    record['finished'] = datetime.datetime.now().isoformat(timespec='seconds')
    write_json_atomic(record, work_dir / RECORD)


def run_tool(tool, tool_args, settings):
    """Run ``tools/<tool>`` with ``tool_args``; return its wall-clock and CPU seconds.

    CPU seconds (all threads, user + system) do not depend on how busy a
    shared machine is; wall-clock seconds do.
    """
    script = ROOT / 'tools' / tool
    start, cpu_start = time.perf_counter(), cpu_seconds(settings.in_process)
    if settings.in_process:
        run_in_process(script, tool_args, settings.threads)
    else:
        threads = str(settings.threads)
        env = dict(os.environ, OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
        done = subprocess.run([sys.executable, str(script), *tool_args], env=env)
        if done.returncode != 0:
            raise RuntimeError(f'{tool} exited with status {done.returncode}')
    return time.perf_counter() - start, cpu_seconds(settings.in_process) - cpu_start


def run_in_process(script, tool_args, threads):
    """``python script tool_args`` in this process, with ``threads`` torch threads."""
    import torch

    saved, saved_threads = sys.argv, torch.get_num_threads()
    sys.argv = [str(script), *tool_args]
    torch.set_num_threads(threads)
    try:
        runpy.run_path(str(script), run_name='__main__')
    except SystemExit as err:  # the tools report bad input with SystemExit
        if err.code not in (None, 0):
            raise RuntimeError(f'{script.name} failed: {err.code}') from err
    finally:
        sys.argv = saved
        torch.set_num_threads(saved_threads)


def cpu_seconds(own_process):
    """User + system CPU seconds of this process, or of its finished children."""
    usage = resource.getrusage(resource.RUSAGE_SELF if own_process else
                               resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def command_line(tool, tool_args):
    return ' '.join(shlex.quote(a) for a in ['python', f'tools/{tool}', *tool_args])
