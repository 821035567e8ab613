"""Normalizing flows: Glow from TFP bijectors, with an exact encoder/decoder."""

from tfaug.flows.export import CheckpointError, load, pretrained, save
from tfaug.flows.glow import Glow, GlowConfig

__all__ = ["CheckpointError", "Glow", "GlowConfig", "load", "pretrained", "save"]
