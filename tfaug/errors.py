"""Errors tfaug raises for bad input: each message names the problem and the fix."""


class TfaugError(Exception):
    """Base class: entry points print these without a traceback."""


class DataError(TfaugError, ValueError):
    """A dataset is unknown, unavailable, malformed or inconsistent."""


class ConfigError(TfaugError, ValueError):
    """A configuration or preset is invalid."""


class CheckpointError(TfaugError):
    """A saved model (flow or VAE-GAN) is missing, incomplete or corrupt."""
