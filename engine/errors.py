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


class UntrustedModelError(ModelLoadError):
    """The file can run code while it loads (a full pickle): refused unless the person says they trust it."""


class ModelCardMissing(ModelLoadError):
    """A model file has no card (labels, mean/std, input size): `suggestion` is a best guess to confirm.

    `needs_architecture` is true for weights-only files (state dicts, safetensors), which also need
    the name of the network they belong to.
    """

    def __init__(self, message: str, path: str = "", suggestion: object = None, needs_architecture: bool = False):
        super().__init__(message)
        self.path = path
        self.suggestion = suggestion
        self.needs_architecture = needs_architecture


class ModelOutputError(AdvLensError):
    """A model ran but its output is not a logit vector per image, or it failed on the input."""


class ConfigError(AdvLensError, ValueError):
    """A configuration value is out of range or of the wrong kind."""


class AttackFailed(AdvLensError):
    """An attack stopped on an error (NaN loss, out of memory, a model failure mid-run)."""


class Cancelled(AdvLensError):
    """A run was cancelled by the user."""


def first_error_line(exc: BaseException) -> str:
    """The line of an error message that says what went wrong (TorchScript puts it last, after a traceback)."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    if lines[0].startswith("The following operation failed in the TorchScript interpreter"):
        return lines[-1][:300]
    return lines[0][:300]


def describe_unexpected(exc: BaseException) -> str:
    """'Type: what went wrong' for an error that is not one of ours (one line, for a dialog or stderr)."""
    name = type(exc).__name__
    return f"{name}: {first_error_line(exc)}" if str(exc).strip() else name
