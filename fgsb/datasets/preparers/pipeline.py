"""Preparing a whole raw data set: find, select, prepare (in parallel), split.

``prepare_dataset`` is what ``tools/prepare_data.py`` runs. Subjects that
cannot be used are skipped with a reason; problems with the run as a whole
(no raw data, a foreign output folder, impossible split) raise
``PreparationError`` before any work is done. ``splits.json`` is written
last, so its presence means the folder is complete.
"""
import multiprocessing
import os
import shutil
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

import SimpleITK as sitk
from tqdm import tqdm

from fgsb.datasets.nifti_io import VolumeError
from fgsb.datasets.prepared_layout import (RECORD_FILE, SPLITS_FILE, choose_subjects,
                                           read_subject_record, splits_path, write_splits)
from fgsb.fileio import remove_stale_temporaries

from .base import PreparationError, Skipped
from .splits import check_test_count, default_test_count, split_subjects
from .subject_folder import write_subject_folder

ARCHIVE_SUFFIXES = ('.tar', '.tar.gz', '.tgz', '.zip')


@dataclass
class PreparationReport:
    """What a run did: subjects written, reused and skipped, and the split."""
    out: Path
    prepared: list = field(default_factory=list)
    reused: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    splits: dict = field(default_factory=dict)
    seed: int = 0

    def summary(self):
        """A few lines for the terminal: counts, the skipped subjects and why, the split."""
        count = len(self.prepared) + len(self.reused)
        reused = f' ({len(self.reused)} up to date from an earlier run)' if self.reused else ''
        lines = [f'Prepared {count} subjects into {self.out}{reused}; '
                 f'skipped {len(self.skipped)}' + (':' if self.skipped else '.')]
        lines += [f'  {s.subject}: {s.reason}' for s in self.skipped]
        lines.append(f'Split: {len(self.splits["train"])} train, {len(self.splits["test"])} '
                     f'test (seed {self.seed}) -> {splits_path(self.out)}')
        return '\n'.join(lines)


def prepare_dataset(preparer, root, out, test_subjects=None, test_ids=None, train_ids=None,
                    seed=0, max_subjects=None, overwrite=False, jobs=1, command=None,
                    progress=True):
    """Turn the raw data set under ``root`` into the prepared layout under ``out``.

    Args:
        preparer: a ``BasePreparer`` (one of the ``PREPARERS``).
        test_subjects: size of the test split (default: the data set's
            paper count, else a fifth); ignored when ids are listed.
        test_ids, train_ids: explicit split lists (a missing one is the rest).
        seed: seed of the split and of the ``max_subjects`` draw.
        max_subjects: prepare only this many subjects (listed ids first, the
            rest drawn by ``seed``), e.g. the 35 IXI subjects of the paper.
        overwrite: redo every subject and replace an existing ``splits.json``;
            without it an interrupted run resumes, reusing complete folders.
        jobs: subjects prepared in parallel (processes).
        command: the command line, recorded in ``splits.json``.

    Returns a ``PreparationReport``.
    """
    root, out = Path(root), Path(out)
    if not root.is_dir():
        raise PreparationError(f'raw data folder {root} not found')
    _check_output(out, overwrite)
    subjects, skipped = preparer.discover(root)
    if not subjects and not skipped:
        raise PreparationError(_nothing_found(preparer, root))
    subjects = _select(subjects, skipped, max_subjects, test_ids, train_ids, seed)
    explicit = test_ids is not None or train_ids is not None
    if not explicit:
        if test_subjects is None:
            test_subjects = default_test_count(len(subjects), preparer.default_test_subjects)
        check_test_count(len(subjects), test_subjects, f'usable {preparer.name} subjects')

    out.mkdir(parents=True, exist_ok=True)
    report = PreparationReport(out=out, skipped=list(skipped), seed=seed)
    todo = []
    for subject in subjects:
        record = {'settings': preparer.settings(), 'sources': subject.sources()}
        if not overwrite and read_subject_record(out / subject.id) == record:
            report.reused.append(subject.id)
        else:
            todo.append((subject, record))
    for subject_id, reason in _run(preparer, todo, out, jobs, progress):
        if reason is None:
            report.prepared.append(subject_id)
        else:
            report.skipped.append(Skipped(subject_id, reason))
    report.prepared.sort()
    report.skipped.sort(key=lambda s: s.subject)
    ready = set(report.prepared) | set(report.reused)
    _remove_stale_subjects(out, keep=ready)
    if not ready:
        reasons = '\n'.join(f'  {s.subject}: {s.reason}' for s in report.skipped[:20])
        raise PreparationError(f'no subject of {root} could be prepared:\n{reasons}')
    lost = sorted((set(test_ids or ()) | set(train_ids or ())) - ready)
    if explicit:
        test_ids = None if test_ids is None else [i for i in test_ids if i not in lost]
        train_ids = None if train_ids is None else [i for i in train_ids if i not in lost]
    try:
        report.splits = split_subjects(sorted(ready), test_subjects, test_ids, train_ids, seed)
    except PreparationError as err:
        if lost:
            raise PreparationError(f'{err} (listed subjects that were skipped: '
                                   f'{", ".join(lost)})') from err
        raise
    meta = dict(dataset=preparer.name, seed=seed, command=command,
                root=str(root), skipped=[asdict(s) for s in report.skipped],
                settings=preparer.settings())
    write_splits(out, report.splits, meta)
    return report


def _check_output(out, overwrite):
    if out.exists() and not out.is_dir():
        raise PreparationError(f'output {out} exists and is not a folder')
    if not out.is_dir():
        return
    if splits_path(out).exists() and not overwrite:
        raise PreparationError(f'{out} is already prepared ({splits_path(out)} exists); '
                               f'pass --overwrite to prepare it again')
    # what a killed run left is ours to remove, and no reason to refuse the folder
    remove_stale_temporaries(out)
    foreign = [entry.name for entry in sorted(out.iterdir())
               if entry.name != SPLITS_FILE
               and not (entry.is_dir() and (entry / RECORD_FILE).is_file())]
    if foreign:
        raise PreparationError(
            f'{out} holds files that tools/prepare_data.py did not write '
            f'({", ".join(foreign[:5])}{", ..." if len(foreign) > 5 else ""}); '
            f'choose a new or empty output folder')


def _nothing_found(preparer, root):
    message = f'no {preparer.name} subjects found under {root}; expected {preparer.layout}'
    archives = sorted(p.name for p in root.rglob('*')
                      if p.is_file() and p.name.lower().endswith(ARCHIVE_SUFFIXES))
    if archives:
        message += f'. Found archives ({", ".join(archives[:5])}): extract them first'
    return message


def _select(subjects, skipped, max_subjects, test_ids, train_ids, seed):
    """The subjects to prepare: the listed ones, plus a seeded draw up to ``max_subjects``."""
    known = {s.id for s in subjects} | {s.subject for s in skipped}
    listed = list(test_ids or ()) + list(train_ids or ())
    unknown = sorted(set(listed) - known)
    if unknown:
        raise PreparationError(f'listed subjects not found in the raw data: '
                               f'{", ".join(unknown)}')
    by_id = {s.id: s for s in subjects}
    if test_ids is not None and train_ids is not None:
        chosen = [i for i in listed if i in by_id]
    elif max_subjects is not None:
        if max_subjects < len(listed):
            raise PreparationError(f'--max-subjects {max_subjects} is fewer than the '
                                   f'{len(listed)} listed subjects')
        others = sorted(set(by_id) - set(listed))
        chosen = [i for i in listed if i in by_id] + choose_subjects(
            others, max_subjects - len(listed), seed)
    else:
        chosen = list(by_id)
    return [by_id[i] for i in sorted(set(chosen))]


def _prepare_one(preparer, subject, out, record):
    """Prepare and write one subject; returns ``(id, None)`` or ``(id, reason)``."""
    try:
        affine, volumes = preparer.prepare(subject)
    except VolumeError as err:
        return subject.id, str(err)
    write_subject_folder(out, subject.id, affine, volumes, record)
    return subject.id, None


def _limit_threads(threads):
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(threads)


def _run(preparer, todo, out, jobs, progress):
    """Yield ``(id, reason)`` for every subject of ``todo``, ``jobs`` at a time."""
    bar = tqdm(total=len(todo), desc=f'Preparing {preparer.name}', unit='subject',
               disable=not progress or not todo)
    with bar:
        if jobs <= 1 or len(todo) <= 1:
            for subject, record in todo:
                bar.set_postfix_str(subject.id)
                yield _prepare_one(preparer, subject, out, record)
                bar.update()
            return
        threads = max(1, (os.cpu_count() or 1) // jobs)
        # spawn: a fresh interpreter per worker, safe with SimpleITK's threads
        context = multiprocessing.get_context('spawn')
        with ProcessPoolExecutor(jobs, mp_context=context, initializer=_limit_threads,
                                 initargs=(threads,)) as pool:
            futures = [pool.submit(_prepare_one, preparer, s, out, r) for s, r in todo]
            for future in as_completed(futures):
                subject_id, reason = future.result()
                bar.set_postfix_str(subject_id)
                yield subject_id, reason
                bar.update()


def _remove_stale_subjects(out, keep):
    """Remove prepared folders of subjects that this run does not list (an earlier run's)."""
    for entry in out.iterdir():
        if entry.is_dir() and entry.name not in keep and (entry / RECORD_FILE).is_file():
            shutil.rmtree(entry)
