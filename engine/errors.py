"""The engine's own error types: every failure a person can cause has one, with a plain message.

None of them derives from RuntimeError, so a threading layer that treats RuntimeError specially
(superqt's workers do) cannot swallow them; torch's own RuntimeErrors (CUDA out of memory) are
wrapped into `AttackFailed` by the runner.
"""

from __future__ import annotations


class AdvLensError(Exception):
    """Base class: `str(error)` is a one-line message fit for a status bar or stderr."""


class ImageLoadError(AdvLensError):
    """An image file could not be read: missing, unreadable, corrupt, too large, or not an image."""


class ModelLoadError(AdvLensError):
    """A model could not be loaded, or was refused (an untrusted pickle)."""


class ModelOutputError(AdvLensError):
    """A model ran but its output is not a logit vector per image, or it failed on the input."""


class ConfigError(AdvLensError, ValueError):
    """A configuration value is out of range or of the wrong kind."""


class AttackFailed(AdvLensError):
    """An attack stopped on an error (NaN loss, out of memory, a model failure mid-run)."""


class Cancelled(AdvLensError):
    """A run was cancelled by the user."""
