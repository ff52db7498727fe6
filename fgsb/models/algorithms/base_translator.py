"""What every image-to-image algorithm of the toolbox shares: evaluation.

Training differs per algorithm (each writes its own ``train_step``);
validation and testing do not: translate the source, hand the prediction
and what the metrics need to the evaluator.
"""
from mmengine.model import BaseModel


def set_requires_grad(modules, requires_grad):
    """Freeze or unfreeze whole networks (skips the None entries)."""
    for module in modules:
        if module is not None:
            for param in module.parameters():
                param.requires_grad_(requires_grad)


class BaseTranslator(BaseModel):
    """A model that maps a batch of ``source`` slices to predicted targets.

    Subclasses implement ``translate(source)`` and ``train_step``.
    """

    def translate(self, source):
        raise NotImplementedError

    @property
    def source_channels(self) -> int:
        """Channels of the ``source`` that ``translate`` takes (tools build
        dummy inputs from it): the generator's input channels by default."""
        return getattr(self.generator, 'in_channels', 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        # MMEngine calls forward only through val/test steps and FLOP tools.
        return self.translate(inputs)

    def val_step(self, data):
        data = self.data_preprocessor(data, False)
        prediction = self.translate(data['source'])
        return self.pack_outputs(data, prediction)

    def test_step(self, data):
        return self.val_step(data)

    @staticmethod
    def pack_outputs(data, prediction):
        """One dict a slice, with CPU tensors, for the evaluator."""
        outputs = []
        for i, meta in enumerate(data['meta']):
            sample = {'pred': prediction[i].detach().float().cpu(), 'meta': meta}
            for key in ('source', 'target', 'brain_mask', 'lesion_mask', 'prior'):
                if key in data:
                    sample[key] = data[key][i].detach().float().cpu()
            outputs.append(sample)
        return outputs
