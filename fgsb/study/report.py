"""The study's tables: the CSV, the Markdown, and the block of docs/results.md.

Plain numbers only: what they say about the paper's claims is read in the
hand-written text of docs/results.md.
"""
import csv
import io
from pathlib import Path

from fgsb.fileio import write_text_atomic
from .experiments import COMPARISONS, FLAIR, GROUPS, MAIN_FLAIR, group_members

CSV_COLUMNS = ('experiment', 'task', 'train_subjects', 'PSNR_mean', 'PSNR_std', 'SSIM_mean',
               'SSIM_std', 'NRMSE_mean', 'NRMSE_std', 'Dice_mean', 'Recall_mean',
               'train_seconds')
MARKERS = ('<!-- study-results:start -->', '<!-- study-results:end -->')
# (CSV name, decimals) of the columns every table shows as mean ± std
MEAN_STD = (('PSNR', 2), ('SSIM', 4), ('NRMSE', 4))
LESION_COLUMNS = ('Dice', 'Recall', 'Lesion_contrast')
MEASURE_NAMES = {'PSNR_mean': 'PSNR (dB)', 'SSIM_mean': 'SSIM', 'NRMSE_mean': 'NRMSE',
                 'Dice_mean': 'lesion Dice', 'Recall_mean': 'lesion recall'}


def csv_text(rows):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator='\n')
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow(['' if row[c] is None else format_number(row[c], 6)
                         for c in CSV_COLUMNS])
    return out.getvalue()


def format_number(value, digits):
    """Floats with ``digits`` significant digits, anything else as str."""
    if isinstance(value, float):
        return f'{value:.{digits}g}'
    return str(value)


def duration(seconds):
    """``h:mm:ss`` of a number of seconds."""
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f'{hours}:{minutes:02d}:{secs:02d}'


def optional_score(value):
    return 'n/a' if value is None else f'{value:.3f}'


def markdown_text(rows, settings):
    """The study's Markdown: a table a group, the comparisons, cost and commands."""
    split = (f'{settings.validation} validation subjects carved from train'
             if settings.validation else 'the test split')
    lines = ['<!-- written by tools/run_study.py; do not edit by hand -->',
             f'Scored on {split}; work root `{settings.work_root}`.', '']
    if settings.cfg_options:
        lines += [f'Extra `--cfg-options` (not the CPU-size study): '
                  f'`{" ".join(settings.cfg_options)}`', '']
    by_name = {row['experiment']: row for row in rows}
    for group in GROUPS:
        lines += group_table(group, by_name)
        if group == MAIN_FLAIR:
            lines += real_flair_note(rows)
        lines.append('')
    lines += ['### FGSB (2) beside Pix2Pix (2)', ''] + comparison_table(by_name) + ['']
    if not rows:
        return '\n'.join(lines + ['No experiment has finished yet: no costs or commands.'])
    return '\n'.join(lines + cost_table(rows) + command_blocks(rows))


def group_table(group, by_name):
    members = group_members(group)
    lesion = members[0].task == FLAIR
    header = ['experiment', 'method', 'train subj.', 'PSNR (dB)', 'SSIM', 'NRMSE']
    header += ['lesion Dice', 'lesion recall', 'lesion contrast'] if lesion else []
    lines = [f'### {group}', '', '| ' + ' | '.join(header + ['train time']) + ' |',
             '|' + '---|' * (len(header) + 1)]
    for e in members:
        row = by_name.get(e.name)
        if row is None:
            cells = [e.name, e.label, str(e.train_subjects)] + ['not run'] * (len(header) - 2)
        else:
            cells = [e.name, e.label, str(row['train_subjects'])]
            cells += [f'{row[f"{m}_mean"]:.{d}f} ± {row[f"{m}_std"]:.{d}f}' for m, d in MEAN_STD]
            if lesion:
                cells += [optional_score(row[f'{m}_mean']) for m in LESION_COLUMNS]
            cells.append(duration(row['train_seconds']))
        lines.append('| ' + ' | '.join(cells) + ' |')
    return lines


def real_flair_note(rows):
    """The lesion scores of the real FLAIR (the same in every FLAIR run)."""
    real = next((r for r in rows if r['task'] == FLAIR and r['Dice_real_mean'] is not None),
                None)
    if real is None:
        return []
    return ['', f'The same segmentation on the real FLAIR (its ceiling): Dice '
            f'{real["Dice_real_mean"]:.3f}, recall {real["Recall_real_mean"]:.3f}; '
            f'lesion contrast of the real FLAIR '
            f'{optional_score(real["Lesion_contrast_real_mean"])} (mean inside '
            'the lesions minus the mean of a 2-voxel brain ring around them, '
            'in the network\'s [-1, 1] units).']


def comparison_table(by_name):
    lines = ['| measure | experiment | value | beside | value |', '|---|---|---|---|---|']
    for c in COMPARISONS:
        values = []
        for name in (c.ours, c.theirs):
            value = by_name.get(name, {}).get(c.measure)
            values.append('not run' if value is None else f'{value:.4f}')
        lines.append(f'| {MEASURE_NAMES[c.measure]} | {c.ours} | {values[0]} | {c.theirs} | {values[1]} |')
    return lines


def cost_table(rows):
    lines = ['### Wall clock and CPU time', '',
             'Wall clock (h:mm:ss) depends on what else the machine ran (load average at '
             'the start and end of training); CPU time (all threads) does not.', '',
             '| experiment | train wall | train CPU | test wall | test CPU | threads | load |',
             '|---|---|---|---|---|---|---|']
    for row in rows:
        record = row['extra']['record']
        resumed = ' (resumed: after the resume only)' if record.get('resumed') else ''
        load = ' → '.join(f'{x:.1f}' for x in record.get('load_average', []))
        lines.append(f'| {row["experiment"]} | {duration(record["train_seconds"])}{resumed} | '
                     f'{duration(record.get("train_cpu_seconds", 0))} | '
                     f'{duration(record["test_seconds"])} | '
                     f'{duration(record.get("test_cpu_seconds", 0))} | '
                     f'{record.get("threads", "")} | {load} |')
    return lines


def command_blocks(rows):
    lines = ['', '### Commands', '']
    for row in rows:
        record = row['extra']['record']
        lines += [f'`{row["experiment"]}`:', '', '```', record['train_command'],
                  record['test_command'], '```', '']
    return lines


def fill_results_doc(path, markdown, markers=MARKERS):
    """Replace what lies between the ``markers`` of ``path`` with ``markdown``."""
    text = Path(path).read_text()
    start, end = (text.find(m) for m in markers)
    if start < 0 or end < start:
        raise ValueError(f'{path} has no {markers[0]} ... {markers[1]} block to fill')
    filled = text[:start + len(markers[0])] + '\n' + markdown + '\n' + text[end:]
    write_text_atomic(filled, path)
