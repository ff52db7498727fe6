"""What one benchmark measures, as the command line asked for it."""
from dataclasses import dataclass
from typing import Optional

from fgsb.engine.precision import Precision

FP32 = Precision('fp32', 'fp32 was requested')


@dataclass(frozen=True)
class BenchmarkSettings:
    """``mode`` is 'train' (one ``train_step``) or 'infer' (one ``translate``).
    ``precision`` is that of the primary variant; ``amp`` times every path
    in fp32 as well as in bf16 (the precision is then bf16). ``baseline``
    adds the straightforward FGSB/UNSB training step. ``shape`` and
    ``batch_size`` default to the config's; ``step_index`` pins the bridge
    step ``k`` of every FGSB/UNSB training iteration (default ``(T - 1) // 2``)."""
    mode: str = 'train'
    device: str = 'cpu'
    seed: int = 0
    precision: Precision = FP32
    amp: bool = False
    baseline: bool = False
    channels_last: bool = False
    compile: bool = False
    shape: Optional[tuple] = None
    batch_size: Optional[int] = None
    step_index: Optional[int] = None

    @property
    def bf16_modes(self):
        """Whether each precision timed is bf16: (False, True) with ``amp``."""
        return (False, True) if self.amp else (self.precision.is_bf16,)
