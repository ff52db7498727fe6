"""The evaluators score finite predictions and refuse non-finite ones."""
import math

import pytest
import torch

from fgsb.datasets.batch_keys import BRAIN_MASK, LESION_MASK, META, SOURCE, TARGET
from fgsb.evaluation import NonFiniteOutputError
from fgsb.evaluation.lesion_metric import LesionPreservationMetric
from fgsb.evaluation.volume_synthesis_metric import VolumeSynthesisMetric


def outputs(prediction, subject='s01', first_slice=3):
    """What ``BaseTranslator.pack_outputs`` hands the evaluator, one dict a slice."""
    target = torch.linspace(-1, 0.8, 64).reshape(1, 8, 8)
    brain = torch.ones(1, 8, 8)
    return [{'pred': prediction(target), TARGET: target, SOURCE: -target,
             BRAIN_MASK: brain, LESION_MASK: torch.zeros(1, 8, 8),
             META: {'subject': subject, 'slice_index': first_slice + i}} for i in range(2)]


def test_psnr_of_a_constant_offset():
    metric = VolumeSynthesisMetric(identity_baseline=False)
    # +0.1 on [-1, 1] is +0.05 on the [0, 1] scale: MSE 0.0025, PSNR 10 log10(400)
    metric.process(None, outputs(lambda target: target + 0.1))
    scores = metric.compute_metrics(metric.results)
    assert scores['PSNR'] == pytest.approx(10 * math.log10(400), abs=1e-4)
    assert scores['PSNR_std'] == 0.0 and metric.per_subject[0]['num_slices'] == 2


@pytest.mark.parametrize('metric_type', [VolumeSynthesisMetric, LesionPreservationMetric])
@pytest.mark.parametrize('bad', [float('nan'), float('inf')])
def test_non_finite_prediction_is_an_error_not_a_score(metric_type, bad):
    metric = metric_type()

    def broken(target):
        prediction = target.clone()
        prediction[0, 2, 5] = bad
        return prediction

    with pytest.raises(NonFiniteOutputError,
                       match=f"{metric_type.__name__}: the prediction of subject 's01' "
                             'slice 3 has 1 NaN/Inf values'):
        metric.process(None, outputs(broken))
    assert metric.results == []
