"""The engine's own error types: every failure a person can cause has one, with a plain message.

None of them derives from RuntimeError, so a threading layer that treats RuntimeError specially
(superqt's workers do) cannot swallow them; torch's own RuntimeErrors (CUDA out of memory) are
wrapped into `AttackFailed` by the runner.
"""

from __future__ import annotations

import sys


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


def as_engine_error(exc: BaseException, doing: str = "the model failed during the attack") -> AdvLensError:
    """The one translator: any error a job raised, as one of ours with a one-line message.

    torch's out-of-memory and CUDA errors are RuntimeErrors; a threading layer that treats those
    specially would swallow them, so none leaves a worker untranslated. torch is looked up, never
    imported: an error cannot be torch's if torch was never loaded.
    """
    if isinstance(exc, AdvLensError):
        return exc
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(exc, torch.cuda.OutOfMemoryError):
        torch.cuda.empty_cache()
        error: AdvLensError = AttackFailed("out of GPU memory: try a smaller resolution or batch, or the CPU")
    elif isinstance(exc, MemoryError):
        error = AttackFailed("out of memory: try a smaller resolution or batch")
    elif isinstance(exc, RuntimeError | ValueError | TypeError | IndexError) or (
            torch is not None and isinstance(exc, torch.jit.Error)):
        error = AttackFailed(f"{doing}: {first_error_line(exc)}")
    else:
        error = AttackFailed(describe_unexpected(exc)[:400])
    error.__cause__ = exc
    return error
