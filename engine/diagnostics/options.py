"""What a diagnosis measures beyond the telemetry, as plain data: torch-free, so the GUI process builds
analysis requests that carry it without loading torch (the probes themselves run in the engine)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class DiagnosticsOptions:
    """What the diagnosis measures beyond the telemetry, and how hard."""

    probes: bool = True  # gradients and noise probes
    cross_check: bool = True  # a DeepFool run on the images where it can tell something
    noise_draws: int = 16
    tiny_noise: float = 1 / 255  # unstable predictions: uniform noise of this size per value
    response_noise: float = 8 / 255  # constant output: the logits must change under noise this large
    cross_check_steps: int = 20
    cross_check_classes: int = 4  # DeepFool linearises the true class and the 3 most likely others (cheap)
    batch: int = 64
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)
