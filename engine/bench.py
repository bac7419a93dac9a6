"""`advlens bench`: how fast the engine attacks, as ratios to a hand-written PyTorch loop in the same run.

Absolute figures depend on the machine and on what else runs on it; the ratio of two loops timed
back to back in one process is what to compare across machines (the GPU figures of the peers are in
shared/PERFORMANCE.md). The engine's loop adds telemetry (loss, margin, probabilities, top-k, norms)
every step, on the device, without a host synchronisation.
"""

from __future__ import annotations

import json
import platform
import resource
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch

from .attacks import AttackRun, make_attack
from .config import AttackConfig
from .criteria import Misclassification
from .device import device_name, select_device
from .loaders import load_demo_model
from .model import Model
from .telemetry import Telemetry

EPS, ALPHA = 8 / 255, 2 / 255


@dataclass
class BenchRow:
    case: str
    batch: int
    size: int
    loop: str
    steps: int
    seconds: float

    @property
    def image_steps_per_second(self) -> float:
        return self.batch * self.steps / self.seconds


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def hand_written_pgd(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int) -> torch.Tensor:
    """The reference: the shortest correct Linf PGD loop one would write by hand."""
    x_adv = (x + torch.empty_like(x).uniform_(-EPS, EPS)).clamp(0, 1)
    for _ in range(steps):
        x_adv.requires_grad_(True)
        loss = torch.nn.functional.cross_entropy(model(x_adv), y)
        (grad,) = torch.autograd.grad(loss, x_adv)
        x_adv = x_adv.detach() + ALPHA * grad.sign()
        x_adv = (x + (x_adv - x).clamp(-EPS, EPS)).clamp(0, 1)
    return x_adv


def engine_pgd(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int) -> torch.Tensor:
    """The engine's step-wise PGD with telemetry pushed every step, as the GUI runs it."""
    attack = make_attack(AttackConfig(attack="pgd", norm="linf", eps=EPS, step_size=ALPHA, steps=steps))
    telemetry = Telemetry(batch=x.shape[0])
    run = AttackRun(attack, model, x, Misclassification(y), torch.Generator(device=x.device).manual_seed(0))
    for step in run:
        telemetry.push(step)
    telemetry.drain()
    return run.result.x_adv


def torchattacks_pgd(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int) -> torch.Tensor:
    import torchattacks

    return torchattacks.PGD(model, eps=EPS, alpha=ALPHA, steps=steps, random_start=True)(x, y)


LOOPS: dict[str, Callable] = {"hand-written": hand_written_pgd, "advlens": engine_pgd, "torchattacks": torchattacks_pgd}


def _time(loop: Callable, model, x, y, steps: int, device: torch.device, repeats: int) -> float:
    loop(model, x, y, 2)  # warm-up
    _sync(device)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        loop(model, x, y, steps)
        _sync(device)
        best = min(best, time.perf_counter() - start)
    return best


def _models(device: torch.device) -> list[tuple[str, Model, int]]:
    cases: list[tuple[str, Model, int]] = [("shapes-cnn", load_demo_model(device), 64)]
    if device.type == "cuda":
        try:
            import torchvision

            from .model import ModelCard

            net = torchvision.models.resnet18(weights=None)
            card = ModelCard(name="resnet18-random", labels=[str(i) for i in range(1000)],
                             mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225], input_size=224)
            cases.append(("resnet18 (random)", Model(net, card).to(device), 224))
        except ImportError:
            pass
    return cases


def run_bench(device: str = "auto", steps: int = 20, batches: tuple[int, ...] = (1, 16), repeats: int = 3,
              quick: bool = False) -> dict:
    dev = select_device(device)
    loops = dict(LOOPS)
    try:
        import torchattacks  # noqa: F401
    except ImportError:
        loops.pop("torchattacks")
    if quick:
        steps, batches, repeats = 5, (1,), 1
    rows: list[BenchRow] = []
    for case, model, size in _models(dev):
        for batch in batches:
            g = torch.Generator().manual_seed(0)
            x = torch.rand(batch, 3, size, size, generator=g).to(dev)
            with torch.no_grad():
                y = model(x).argmax(1)
            for name, loop in loops.items():
                torch.manual_seed(0)
                seconds = _time(loop, model, x, y, steps, dev, repeats)
                rows.append(BenchRow(case, batch, size, name, steps, seconds))
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {
        "device": device_name(dev),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "rows": [asdict(r) | {"image_steps_per_second": r.image_steps_per_second} for r in rows],
        "ratios": {},
        "peak_rss_mb": round(peak_rss_mb, 1),
    }
    if dev.type == "cuda":
        result["peak_cuda_mb"] = round(torch.cuda.max_memory_allocated(dev) / 2**20, 1)
    for row in rows:
        if row.loop == "hand-written":
            continue
        ref = next(r for r in rows if r.loop == "hand-written" and (r.case, r.batch) == (row.case, row.batch))
        key = f"{row.case} b{row.batch}: {row.loop} / hand-written time"
        result["ratios"][key] = round(row.seconds / ref.seconds, 3)
    return result


def format_bench(result: dict) -> str:
    lines = [f"AdvLens bench on {result['device']} (torch {result['torch']}); untargeted Linf PGD, eps 8/255, "
             f"step 2/255", f"{'model':20s} {'batch':>5s} {'size':>5s} {'loop':14s} {'ms/step':>9s} {'img-steps/s':>12s}"]
    for r in result["rows"]:
        lines.append(f"{r['case']:20s} {r['batch']:5d} {r['size']:5d} {r['loop']:14s} "
                     f"{1000 * r['seconds'] / r['steps']:9.2f} {r['image_steps_per_second']:12.1f}")
    lines.append("ratios (time relative to the hand-written loop in this run; 1.00 = as fast):")
    for key, value in result["ratios"].items():
        lines.append(f"  {key}: {value:.2f}x")
    lines.append(f"peak RSS {result['peak_rss_mb']} MB" +
                 (f", peak CUDA {result['peak_cuda_mb']} MB" if "peak_cuda_mb" in result else ""))
    return "\n".join(lines)


def main(device: str = "auto", quick: bool = False, as_json: bool = False) -> int:
    result = run_bench(device, quick=quick)
    print(json.dumps(result, indent=2) if as_json else format_bench(result))
    return 0
