"""Squeeze (space-to-depth): (H, W, C) -> (H/2, W/2, 4C), a Reshape, a Transpose and a
Reshape; volume-preserving (log|det| = 0). Its inverse is the unsqueeze."""

from tfaug.flows.base import FlowLayer, tfb


def squeeze_bijector(shape) -> tfb.Bijector:
    h, w, c = shape
    blocks = [h // 2, 2, w // 2, 2, c]
    return tfb.Chain([
        tfb.Reshape([h // 2, w // 2, 4 * c], event_shape_in=[h // 2, w // 2, 2, 2, c]),
        tfb.Transpose(perm=[0, 2, 1, 3, 4]),
        tfb.Reshape(blocks, event_shape_in=[h, w, c]),
    ])


class Squeeze(FlowLayer):
    """Squeezes inputs of shape `shape` (or unsqueezes back to it, `inverse=True`)."""

    def __init__(self, shape, inverse: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.shape, self.inverse = tuple(shape), inverse

    def bijector(self):
        b = squeeze_bijector(self.shape)
        return tfb.Invert(b) if self.inverse else b
