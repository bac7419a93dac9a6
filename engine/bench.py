"""`advlens bench`: how fast the engine attacks, as ratios to a hand-written PyTorch loop in the same run.

Absolute times depend on the machine and on what else runs on it. So the implementations run
interleaved (A B C D A B C D ...) for at least 9 rounds on the same wrapped model, inputs and torch
thread count, each round's time of an implementation is divided by the hand-written loop's time in
that round, and the bench reports the median of those per-round ratios with their spread: load that
comes and goes moves a whole round, not one implementation.

Implementations (untargeted Linf PGD, eps 8/255, step 2/255, 20 steps, random start):
  loop          the reference: the shortest correct hand-written loop
  loop+eval     the loop plus the two forwards any run needs to say what it did (the clean and the
                final prediction), which AdvLens makes and torchattacks and Foolbox leave to the caller:
                the floor for AdvLens, whose record holds both
  advlens       `prepare_job` + `execute`, as the CLI runs it: the telemetry on (every step's metrics,
                frames at its rate) and the run record built (not saved)
  torchattacks  torchattacks.PGD, when installed
  foolbox       foolbox.attacks.LinfPGD, when installed
On a GPU also `advlens --fast` (the step compiled and replayed) at batch 1, and `advlens bf16 + channels
last` on batches, with the success rate beside fp32's; and a torchvision ResNet-18 (random weights) at
224 px when torchvision is installed. The memory rows give the peak RSS of a spawned process running the
`advlens attack` path at 256 px for 20 and for 5,000 steps: flat telemetry means they match. The
allocator rows time the hand-written loop in two spawned processes, one with glibc's malloc as it comes
and one with the thresholds the engine sets (`allocator.py`), in alternating rounds.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from .allocator import MMAP_THRESHOLD, TRIM_THRESHOLD, set_malloc_thresholds, tune_for_torch
from .config import AttackConfig, RunConfig
from .device import device_name, select_device
from .loaders import load_demo_model
from .model import Model, ModelCard
from .session import execute, prepare_job

EPS, ALPHA, STEPS = 8 / 255, 2 / 255, 20
REFERENCE = "loop"


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


def loop_and_predictions(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int) -> torch.Tensor:
    """The loop plus the clean and the final prediction (plain no_grad forwards, as a caller writes them)."""
    with torch.no_grad():
        model(x)
    x_adv = hand_written_pgd(model, x, y, steps)
    with torch.no_grad():
        model(x_adv)
    return x_adv


def _advlens(**compute) -> Callable:
    def run(model: Model, x: torch.Tensor, y: torch.Tensor, steps: int) -> torch.Tensor:
        config = RunConfig(resolution=None, device=str(x.device), **compute,
                           attack=AttackConfig(attack="pgd", norm="linf", eps=EPS, step_size=ALPHA, steps=steps))
        record = execute(prepare_job(config, model=model, image=x, label=y))
        return torch.from_numpy(record.adversarial).to(x.device)

    return run


def _torchattacks() -> Callable | None:
    try:
        import torchattacks
    except ImportError:
        return None

    def run(model, x, y, steps):
        return torchattacks.PGD(model, eps=EPS, alpha=ALPHA, steps=steps, random_start=True)(x, y)

    return run


def _foolbox() -> Callable | None:
    try:
        import foolbox
    except ImportError:
        return None

    def run(model, x, y, steps):
        fmodel = foolbox.PyTorchModel(model, bounds=(0, 1))
        attack = foolbox.attacks.LinfPGD(abs_stepsize=ALPHA, steps=steps, random_start=True)
        _, clipped, _ = attack(fmodel, x, y, epsilons=EPS)
        return clipped

    return run


def implementations(device: torch.device, batch: int) -> tuple[dict[str, Callable], list[str]]:
    """The implementations timed for one case, the reference first, and why any were left out."""
    impls: dict[str, Callable] = {REFERENCE: hand_written_pgd, "loop+eval": loop_and_predictions,
                                  "advlens": _advlens()}
    skipped = []
    for name, factory in (("torchattacks", _torchattacks), ("foolbox", _foolbox)):
        run = factory()
        if run is None:
            skipped.append(f"{name}: not installed")
        else:
            impls[name] = run
    if device.type == "cuda":
        if batch == 1:
            impls["advlens --fast"] = _advlens(fast=True)
        else:
            precision = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
            impls[f"advlens {precision}+cl"] = _advlens(precision=precision, channels_last=True)
    return impls, skipped


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _models(device: torch.device, sizes: tuple[int, ...]) -> tuple[list[tuple[str, Model, tuple[int, ...]]], list[str]]:
    cases: list[tuple[str, Model, tuple[int, ...]]] = [("shapes-cnn", load_demo_model(device), sizes)]
    skipped = []
    if device.type != "cuda":
        skipped.append("GPU rows (advlens --fast, bf16 + channels_last, ResNet-18): no CUDA device")
        return cases, skipped
    try:
        import torchvision
    except ImportError:
        skipped.append("ResNet-18: torchvision is not installed")
        return cases, skipped
    card = ModelCard(name="resnet18-random", labels=[str(i) for i in range(1000)],
                     mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225], input_size=224)
    cases.append(("resnet18 (random)", Model(torchvision.models.resnet18(weights=None), card).to(device), (224,)))
    return cases, skipped


@dataclass
class _Timing:
    seconds: list[float]
    ratios: list[float]


def _time_case(impls: dict[str, Callable], model, x, y, steps: int, rounds: int, device) -> dict[str, dict]:
    for run in impls.values():  # warm-up (and, for --fast, the compile)
        torch.manual_seed(0)
        run(model, x, y, 2)
    _sync(device)
    timings = {name: _Timing([], []) for name in impls}
    for _ in range(rounds):
        for name, run in impls.items():
            torch.manual_seed(0)
            start = time.perf_counter()
            run(model, x, y, steps)
            _sync(device)
            timings[name].seconds.append(time.perf_counter() - start)
        ref = timings[REFERENCE].seconds[-1]
        for timing in timings.values():
            timing.ratios.append(timing.seconds[-1] / ref)
    out = {}
    for name, run in impls.items():
        torch.manual_seed(0)
        adv = run(model, x, y, steps)
        with torch.no_grad():
            fooled = (model(adv.to(x.device)).argmax(1) != y).float().mean().item()
        t = timings[name]
        out[name] = {
            "ms_per_step": round(1000 * statistics.median(t.seconds) / steps, 3),
            "ratio": round(statistics.median(t.ratios), 3),
            "ratio_min": round(min(t.ratios), 3),
            "ratio_max": round(max(t.ratios), 3),
            "success_rate": round(fooled, 4),
        }
    return out


def _peak_rss_mib() -> float:
    """This process's own peak RSS. On Linux `ru_maxrss` also counts the parent's RSS at the fork before
    the spawn's exec (the kernel carries the old memory's high-water mark over), so a child of a bench
    that already held a gigabyte would report a gigabyte; /proc's VmHWM belongs to this process alone."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _memory_probe(size: int, steps: int, threads: int, conn) -> None:
    """In a spawned child: the `advlens attack` path at `size` px for `steps` steps; sends the peak RSS."""
    tune_for_torch()  # as the command line does
    torch.set_num_threads(threads)
    config = RunConfig(image="sample:star", resolution=size, device="cpu", attack=AttackConfig(steps=steps))
    record = execute(prepare_job(config))
    conn.send((_peak_rss_mib(), record.steps_run))
    conn.close()


def peak_rss_mb(size: int, steps: int, threads: int = 1) -> float:
    """Peak resident memory (MiB) of a fresh process that runs one attack (spawned, never forked)."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_memory_probe, args=(size, steps, threads, child))
    process.start()
    child.close()
    try:
        peak, _ = parent.recv()
    except EOFError as exc:
        raise RuntimeError(f"the memory probe ({steps} steps at {size} px) died with exit code "
                           f"{process.exitcode}") from exc
    finally:
        process.join()
    return round(peak, 1)


def _allocator_worker(system: bool, threads: int, conn) -> None:
    """In a spawned child: time the hand-written loop on request, with or without the engine's malloc settings."""
    if not system:  # the engine's thresholds, even where the user opted out of them for this bench's process
        set_malloc_thresholds(TRIM_THRESHOLD, MMAP_THRESHOLD)
    torch.set_num_threads(threads)
    model = load_demo_model(torch.device("cpu"))
    while (request := conn.recv()) is not None:
        size, batch, steps = request
        gen = torch.Generator().manual_seed(0)
        x = torch.rand(batch, 3, size, size, generator=gen)
        y = torch.randint(0, model.num_classes, (batch,), generator=gen)
        hand_written_pgd(model, x, y, 1)  # the first pass allocates whatever either setting keeps
        start = time.perf_counter()
        hand_written_pgd(model, x, y, steps)
        conn.send((time.perf_counter() - start) / steps)
    conn.close()


def allocator_rows(cases: tuple[tuple[int, int], ...], steps: int, rounds: int, threads: int = 1) -> list[dict]:
    """ms per loop step with glibc's malloc as it comes and as the engine sets it: two spawned processes,
    the same case asked of each in turn, medians of `rounds`."""
    ctx = multiprocessing.get_context("spawn")
    workers = {}
    try:
        for name, system in (("system", True), ("engine", False)):
            parent, child = ctx.Pipe()
            process = ctx.Process(target=_allocator_worker, args=(system, threads, child), daemon=True)
            process.start()
            child.close()
            workers[name] = (process, parent)
        rows = []
        for size, batch in cases:
            seconds: dict[str, list[float]] = {name: [] for name in workers}
            for _ in range(rounds):
                for name, (_, conn) in workers.items():
                    conn.send((size, batch, steps))
                    seconds[name].append(conn.recv())
            system_ms, engine_ms = (1000 * statistics.median(seconds[n]) for n in ("system", "engine"))
            rows.append({"size": size, "batch": batch, "system_ms_per_step": round(system_ms, 2),
                         "engine_ms_per_step": round(engine_ms, 2), "speedup": round(system_ms / engine_ms, 2)})
        return rows
    finally:
        for process, conn in workers.values():
            try:
                conn.send(None)
            except OSError:
                pass
            process.join(timeout=10)
            if process.is_alive():
                process.kill()


def _load() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def run_bench(device: str = "auto", sizes: tuple[int, ...] = (32, 64, 128), batches: tuple[int, ...] = (1, 64),
              rounds: int = 9, steps: int = STEPS, threads: int = 1, memory: bool = True,
              memory_size: int = 256, memory_steps: tuple[int, int] = (20, 5000), allocator: bool = True,
              allocator_cases: tuple[tuple[int, int], ...] = ((256, 1), (64, 64), (128, 64)), quick: bool = False,
              progress: Callable[[str], None] | None = None) -> dict:
    """Time every implementation on every case, interleaved; see the module docstring."""
    if quick:
        sizes, batches, rounds, steps, memory_size, memory_steps = (16,), (1, 4), 3, 3, 32, (5, 50)
        allocator_cases = ((16, 4),)
    dev = select_device(device)
    threads_before = torch.get_num_threads()
    torch.set_num_threads(threads)
    result: dict = {
        "device": device_name(dev), "torch": torch.__version__, "python": platform.python_version(),
        "threads": torch.get_num_threads(), "rounds": rounds, "steps": steps, "allocator": tune_for_torch(),
        "attack": f"untargeted Linf PGD, eps 8/255, step 2/255, {steps} steps, random start",
        "load_before": _load(), "cases": [], "skipped": [], "memory": [], "allocator_rows": [],
    }
    try:
        models, result["skipped"] = _models(dev, sizes)
        for case, model, case_sizes in models:
            for size in case_sizes:
                for batch in batches:
                    impls, skipped = implementations(dev, batch)
                    for reason in skipped:
                        if reason not in result["skipped"]:
                            result["skipped"].append(reason)
                    x = torch.rand(batch, 3, size, size, generator=torch.Generator().manual_seed(0)).to(dev)
                    with torch.no_grad():
                        y = model(x).argmax(1)
                    if progress:
                        progress(f"{case} {size} px, batch {batch}: {', '.join(impls)}")
                    timed = _time_case(impls, model, x, y, steps, rounds, dev)
                    result["cases"].append({"model": case, "size": size, "batch": batch, "implementations": timed})
        if memory:
            for n in memory_steps:
                if progress:
                    progress(f"peak memory: {n} steps at {memory_size} px in a fresh process")
                result["memory"].append({"size": memory_size, "steps": n,
                                         "peak_rss_mb": peak_rss_mb(memory_size, n, threads)})
        if allocator and dev.type == "cpu":
            if progress:
                progress("malloc: the loop in two fresh processes, glibc's settings vs the engine's")
            result["allocator_rows"] = allocator_rows(allocator_cases, min(steps, 10), max(3, rounds // 2), threads)
    finally:
        torch.set_num_threads(threads_before)
    result["load_after"] = _load()
    if dev.type == "cuda":
        result["peak_cuda_mb"] = round(torch.cuda.max_memory_allocated(dev) / 2**20, 1)
    return result


def _cell(entry: dict | None) -> str:
    if entry is None:
        return "-"
    return f"{entry['ratio']:.2f} ({entry['ratio_min']:.2f}-{entry['ratio_max']:.2f})"


def format_bench(result: dict) -> str:
    names: list[str] = []
    for case in result["cases"]:
        names += [n for n in case["implementations"] if n != REFERENCE and n not in names]
    lines = [f"AdvLens bench: {result['attack']}",
             f"{result['device']}, torch {result['torch']}, {result['threads']} torch thread(s); "
             f"{result['rounds']} interleaved rounds; load average {result['load_before']} before, "
             f"{result.get('load_after')} after; malloc: {result.get('allocator', 'unknown')}",
             "time / the hand-written loop's in the same round: median (min-max); the loop's own ms/step",
             ""]
    header = f"{'model':18s} {'px':>4s} {'batch':>5s} " + " ".join(f"{n:>20s}" for n in names) + f" {'loop ms/step':>13s}"
    lines.append(header)
    for case in result["cases"]:
        impls = case["implementations"]
        cells = " ".join(f"{_cell(impls.get(n)):>20s}" for n in names)
        lines.append(f"{case['model']:18s} {case['size']:4d} {case['batch']:5d} {cells} "
                     f"{impls[REFERENCE]['ms_per_step']:13.2f}")
    for case in result["cases"]:
        impls = case["implementations"]
        low = next((n for n in impls if "bf16" in n or "fp16" in n), None)
        if low is None:
            continue
        lines.append(f"success rate {case['model']} {case['size']} px batch {case['batch']}: fp32 "
                     f"{impls['advlens']['success_rate']:.1%}, {low} {impls[low]['success_rate']:.1%}")
    if result["memory"]:
        rows = result["memory"]
        text = ", ".join(f"{r['steps']} steps {r['peak_rss_mb']:.0f} MiB" for r in rows)
        ratio = rows[-1]["peak_rss_mb"] / rows[0]["peak_rss_mb"] if len(rows) > 1 else math.nan
        lines.append(f"peak RSS of the `advlens attack` path at {rows[0]['size']} px in a fresh process: {text} "
                     f"({ratio:.2f}x)")
    for row in result.get("allocator_rows", []):
        lines.append(f"malloc, loop at {row['size']} px batch {row['batch']}: {row['system_ms_per_step']:.2f} ms/step "
                     f"with glibc's settings, {row['engine_ms_per_step']:.2f} with the engine's "
                     f"({row['speedup']:.2f}x faster)")
    for reason in result["skipped"]:
        lines.append(f"skipped: {reason}")
    return "\n".join(lines)


def main(device: str = "auto", quick: bool = False, as_json: bool = False, **options) -> int:
    import sys

    progress = None if as_json else (lambda text: print(f"  ... {text}", file=sys.stderr, flush=True))
    result = run_bench(device, quick=quick, progress=progress, **options)
    print(json.dumps(result, indent=2) if as_json else format_bench(result))
    return 0
