"""What one invocation of the study applies to every experiment."""
from dataclasses import dataclass
from pathlib import Path

# In-training validation would score the test split (the configs' val loader)
# for nothing: tools/test.py does that once, afterwards.
NO_IN_TRAINING_VALIDATION = 'train_cfg.val_begin=1000000000'


@dataclass(frozen=True)
class StudySettings:
    """``work_root`` holds a work dir an experiment. ``validation`` > 0
    carves that many validation subjects out of the train split and scores
    them instead of the test split (for tuning). ``cfg_options`` go to every
    train and test run after the study's own. ``threads`` is the CPU threads
    a run; ``in_process`` runs the tools in this process (tests)."""
    work_root: Path
    validation: int = 0
    cfg_options: tuple = ()
    threads: int = 1
    in_process: bool = False
    force: bool = False

    @property
    def stem(self):
        """The file name (no suffix) of the CSV, the Markdown and the figures."""
        return 'phantom_study_val' if self.validation else 'phantom_study'

    @staticmethod
    def default_work_root(validation):
        return Path('work_dirs/phantom_study_val' if validation else 'work_dirs/phantom_study')
