"""Normalizing flows: Glow from TFP bijectors, with an exact encoder/decoder."""

from tfaug.flows.export import CheckpointError, for_dataset, load, pretrained, save
from tfaug.flows.glow import Glow, GlowConfig

__all__ = ["CheckpointError", "Glow", "GlowConfig", "for_dataset", "load", "pretrained",
           "save"]
