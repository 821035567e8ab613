"""Errors tfaug raises for bad input: each message names the problem and the fix."""

from typing import Optional


class TfaugError(Exception):
    """Base class: entry points print these without a traceback."""


class DataError(TfaugError, ValueError):
    """A dataset is unknown, unavailable, malformed or inconsistent."""


class ConfigError(TfaugError, ValueError):
    """A configuration or preset is invalid."""


class CheckpointError(TfaugError):
    """A saved model (flow or VAE-GAN) is missing, incomplete or corrupt."""


def first_line(error: BaseException, limit: Optional[int] = 200) -> str:
    """The first line of `error`'s message, at most `limit` characters ('' if empty):
    what a message of ours quotes from a library's error."""
    lines = str(error).splitlines()
    return lines[0][:limit] if lines else ""
