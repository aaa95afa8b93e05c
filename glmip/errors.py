"""Errors that the command line reports as one line with exit status 2."""

from .io.registry import InputError
from .volume import VolumeError


class UsageError(Exception):
    """Bad arguments or options (not tied to one input file)."""


BAD_INPUT = (InputError, VolumeError, UsageError)

__all__ = ["InputError", "VolumeError", "UsageError", "BAD_INPUT"]
