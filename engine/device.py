"""Which device to compute on: CUDA if present, else Apple's MPS, else the CPU; overridable."""

from __future__ import annotations

import torch

from .errors import ConfigError

COMPUTE_DEVICES: tuple[str, ...] = ("cpu", "cuda", "mps")  # meta, xpu, ipu...: torch knows them, AdvLens does not run there


def select_device(preference: str | None = "auto") -> torch.device:
    """`auto` picks the best available device; `cpu`, `cuda`, `cuda:1`, `mps` force one."""
    if preference in (None, "", "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(preference)
    except (RuntimeError, ValueError, TypeError) as exc:
        raise ConfigError(f"unknown device '{preference}' (choose auto, cpu, cuda, cuda:N or mps)") from exc
    if device.type not in COMPUTE_DEVICES:
        raise ConfigError(f"AdvLens does not compute on '{preference}' devices (choose auto, cpu, cuda, cuda:N or mps)")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device '{preference}' requested but CUDA is not available here")
    if device.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ConfigError(f"device '{preference}' requested but MPS is not available here")
    return device


def device_name(device: torch.device) -> str:
    """A human name for a device: the GPU's model or 'CPU (N threads)'."""
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"{torch.cuda.get_device_name(index)} (cuda:{index})"
    if device.type == "mps":
        return "Apple GPU (MPS)"
    return f"CPU ({torch.get_num_threads()} threads)"


def available_devices() -> list[str]:
    """Device strings a person can choose from on this machine."""
    names = ["cpu"]
    if torch.cuda.is_available():
        names += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        names.append("mps")
    return names
