"""The learning curve a training run writes (``ValidationStoppingHook``)
and what the study reads from it: the best validation entry."""
import json
from pathlib import Path

CURVE_FILE = 'learning_curve.json'


def read_curve(work_dir):
    """The curve record of ``work_dir`` (``{}`` when there is none)."""
    path = Path(work_dir) / CURVE_FILE
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f'{path}: not a learning curve ({err})') from None


def best_entry(record):
    """The entry with the best monitored score (the earliest among equals)."""
    entries = record.get('entries') or []
    if not entries:
        return None
    sign = 1.0 if record.get('rule', 'greater') == 'greater' else -1.0
    monitor = record['monitor']
    return max(entries, key=lambda e: (sign * e['metrics'][monitor], -e['iteration']))
