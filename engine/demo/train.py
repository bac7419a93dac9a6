"""Train the bundled demo classifier on procedural shapes, reproducibly from a seed.

`advlens train-demo --out resources/models` (or `python -m advlens.engine.demo.train`) writes
`shapes-cnn.safetensors` and its model card `shapes-cnn.json`, clean accuracy per resolution
included. Mixed-resolution batches (one size per batch) teach the network every scale it will see.

`advlens train-demo --sizes 32 --seed 1` trains the same network and recipe at one size only: a
Resolution lab control model (`shapes-cnn-r32-s1`; seed 0 is `shapes-cnn-r32`, alias `demo-r32`). Every
control model sees the same number of scenes (`CONTROL_STEPS` batches) whatever its size, so the lab's
control slopes do not measure a training budget that shrinks with the size. `advlens train-demo
--controls` retrains them all (sizes 16-128, seeds 0 and 1) on one torch thread.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset

from ..loaders.bundled import CONTROL_ROLE
from .net import DEFAULT_WIDTHS, ShapesNet, receptive_field
from .shapes import CLASSES, EVAL_SEED_BASE, eval_seeds, render_batch

MODEL_NAME = "shapes-cnn"
CONTROL_EVAL_SIZES = (16, 32, 64, 128)
CONTROL_SIZES = (16, 32, 64, 128)
CONTROL_SEEDS = (0, 1)
# 1500 batches of 32 (48,000 scenes) per control model: the budget that fits all eight models in about
# three hours on one CPU thread (128 px costs ~1.2-2.4 s a step); the cards keep the loss curve, so
# whether a size reached its plateau can be read there.
CONTROL_STEPS = 1500
# The demo's 3e-3 peak learning rate leaves a 16 px model on the chance plateau (loss ln 10) for the
# whole 1500 steps from seed 0 and lets seed 1 escape only after ~500 steps; 1e-3 learns from the start
# at 16 px (68% after 800 steps), so the controls use it at every size.
CONTROL_LR = 1e-3
LOSS_CURVE_EVERY = 100


def control_name(size: int, seed: int) -> str:
    """The bundled name of the control model trained at `size` px from `seed` (seed 0 keeps the plain name)."""
    return f"{MODEL_NAME}-r{size}" + (f"-s{seed}" if seed else "")


@dataclass
class TrainConfig:
    seed: int = 0
    steps: int = 6000
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 1e-4
    train_sizes: tuple[int, ...] = (16, 20, 24, 32, 40, 48, 64, 80, 96, 112, 128, 144)
    eval_sizes: tuple[int, ...] = (16, 24, 32, 48, 64, 96, 128, 192, 256)
    eval_images: int = 500
    widths: tuple[int, ...] = DEFAULT_WIDTHS
    threads: int = 0  # 0: torch's default
    name: str = MODEL_NAME  # file stem and card name
    extra: dict = field(default_factory=dict)

    @property
    def is_control(self) -> bool:
        """One training size: a per-resolution control model for the Resolution lab."""
        return len(set(self.train_sizes)) == 1


class _ShapeBatches(IterableDataset):
    """Batches of freshly rendered scenes; batch i has a size and seeds fixed by (seed, i)."""

    def __init__(self, config: TrainConfig):
        self.config = config

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        cfg = self.config
        for step in range(cfg.steps):
            rng = np.random.default_rng([cfg.seed, step])
            size = int(rng.choice(cfg.train_sizes))
            seeds = rng.integers(0, EVAL_SEED_BASE, cfg.batch_size)
            images, labels = render_batch(seeds, size)
            yield torch.from_numpy(images), torch.from_numpy(labels)


@torch.no_grad()
def evaluate(model: torch.nn.Module, sizes: tuple[int, ...], count: int, batch: int = 100) -> dict[int, float]:
    """Clean accuracy on held-out scenes at each size."""
    model.eval()
    seeds = eval_seeds(count)
    result = {}
    for size in sizes:
        correct = 0
        for i in range(0, count, batch):
            images, labels = render_batch(seeds[i : i + batch], size)
            pred = model(torch.from_numpy(images)).argmax(1)
            correct += int((pred == torch.from_numpy(labels)).sum())
        result[size] = correct / count
    return result


def train(config: TrainConfig, log: Callable[[str], None] = print) -> tuple[ShapesNet, dict]:
    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    model = ShapesNet(len(CLASSES), config.widths)
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=config.lr, total_steps=config.steps, pct_start=0.1)
    # On one thread the scenes are rendered in this process (one core, nothing forked); otherwise a
    # spawned worker renders ahead. The batches are the same either way (fixed by seed and step).
    workers = {} if config.threads == 1 else {"num_workers": 1, "prefetch_factor": 8,
                                              "multiprocessing_context": "spawn"}
    loader = DataLoader(_ShapeBatches(config), batch_size=None, **workers)
    start = time.time()
    running = 0.0
    curve: list[list[float]] = []
    model.train()
    for step, (images, labels) in enumerate(loader):
        loss = torch.nn.functional.cross_entropy(model(images), labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        value = loss.item()
        running = 0.98 * running + 0.02 * value if step else value
        if step % LOSS_CURVE_EVERY == 0 or step == config.steps - 1:
            curve.append([step, round(running, 4)])
        if step % 200 == 0 or step == config.steps - 1:
            log(f"{config.name} step {step:5d}/{config.steps}  loss {running:.3f}  {time.time() - start:6.0f} s")
    elapsed = time.time() - start
    accuracy = evaluate(model, config.eval_sizes, config.eval_images)
    log(f"{config.name} clean accuracy: " + ", ".join(f"{s}px {a:.1%}" for s, a in accuracy.items()))
    return model, {"train_seconds": round(elapsed, 1), "accuracy": accuracy, "loss_curve": curve}


def model_card(config: TrainConfig, stats: dict) -> dict:
    """The card that ships beside the weights: what the model is, how it was made, how good it is."""
    card = {
        "name": config.name,
        "title": "Shapes CNN (demo)",
        "architecture": "advlens.shapes_cnn",
        "architecture_args": {"num_classes": len(CLASSES), "widths": list(config.widths)},
        "labels": list(CLASSES),
        "input_size": None,
        "mean": [0.5, 0.5, 0.5],
        "std": [0.5, 0.5, 0.5],
        "normalize_inside": True,
        "description": (
            "Resolution-agnostic CNN (3x3 convs, GroupNorm, stride-2 stages, global average pooling) "
            "trained on procedurally rendered shapes at mixed resolutions. Works offline."
        ),
        "receptive_field_px": receptive_field(config.widths),
        "train_sizes": list(config.train_sizes),
        "clean_accuracy": {str(k): round(v, 4) for k, v in stats["accuracy"].items()},
        "eval_images_per_size": config.eval_images,
        "training": {**{k: v for k, v in asdict(config).items() if k != "extra"}, **stats_summary(stats),
                     "scenes_seen": config.steps * config.batch_size},
        "license": "MIT (weights trained by advlens train-demo)",
    }
    if config.is_control:
        size = config.train_sizes[0]
        card["title"] = f"Shapes CNN, {size} px only, seed {config.seed} (Resolution lab control)"
        card["role"] = CONTROL_ROLE
        card["seed"] = config.seed
        card["description"] = (
            f"The demo's resolution-agnostic CNN (same architecture and recipe, a lower learning rate) trained only at {size} px from seed "
            f"{config.seed}: a control model for the Resolution lab's per-resolution mode, where each size is "
            f"attacked on the models trained at that size. {config.steps} steps of {config.batch_size} scenes at a "
            f"peak learning rate of {config.lr:g}, the same for every size; its clean accuracy at other sizes shows how specific it is to its own. "
            "Works offline."
        )
    return card


def stats_summary(stats: dict) -> dict:
    summary = {"train_seconds": stats["train_seconds"], "torch": torch.__version__}
    if stats.get("loss_curve"):
        summary["final_loss"] = stats["loss_curve"][-1][1]
        summary["loss_curve"] = stats["loss_curve"]  # [step, running loss] every LOSS_CURVE_EVERY steps
    return summary


def save(model: ShapesNet, card: dict, out_dir: Path) -> tuple[Path, Path]:
    """Write weights (safetensors) and card (JSON), each through a temp file and a rename."""
    from safetensors.torch import save_file

    out_dir.mkdir(parents=True, exist_ok=True)
    name = card.get("name", MODEL_NAME)
    weights = out_dir / f"{name}.safetensors"
    card_path = out_dir / f"{name}.json"
    tmp = weights.with_suffix(".safetensors.tmp")
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp))
    os.replace(tmp, weights)
    tmp_card = card_path.with_suffix(".json.tmp")
    tmp_card.write_text(json.dumps(card, indent=2) + "\n")
    os.replace(tmp_card, card_path)
    return weights, card_path


def _sizes(text: str, what: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(t) for t in text.split(",") if t.strip())
    except ValueError as exc:
        raise SystemExit(f"advlens train-demo: {what} must be whole numbers separated by commas") from exc
    if not sizes or min(sizes) < 8:
        raise SystemExit(f"advlens train-demo: {what} must be at least 8 px")
    return sizes


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The training config for the command line: the demo by default; `--sizes N` a control model."""
    config = TrainConfig(seed=args.seed, steps=args.steps or TrainConfig.steps, threads=args.threads,
                         eval_images=args.eval_images)
    if args.sizes:
        config.train_sizes = _sizes(args.sizes, "sizes")
        if config.is_control:
            config.eval_sizes = CONTROL_EVAL_SIZES
            config.name = control_name(config.train_sizes[0], config.seed)
            config.steps = args.steps or CONTROL_STEPS
            config.lr = CONTROL_LR
    if args.eval_sizes:
        config.eval_sizes = _sizes(args.eval_sizes, "eval sizes")
    if args.name:
        if Path(args.name).name != args.name or args.name.startswith("."):
            raise SystemExit(f"advlens train-demo: --name must be a plain file stem, got '{args.name}'")
        config.name = args.name
    return config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="advlens train-demo", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[2] / "resources" / "models")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=None,
                        help=f"training steps (default {TrainConfig.steps}; {CONTROL_STEPS} for a control model)")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--controls", action="store_true",
                        help="train every Resolution lab control model (sizes "
                             f"{','.join(map(str, CONTROL_SIZES))}, seeds {','.join(map(str, CONTROL_SEEDS))}), "
                             "one after another, the same steps each")
    parser.add_argument("--sizes", default=None,
                        help="comma list of training sizes (default: the demo's 16-144 px mix); one size trains a "
                             "per-resolution control model")
    parser.add_argument("--name", default=None,
                        help=f"model name and file stem (default {MODEL_NAME}, or {MODEL_NAME}-rN for one size N)")
    parser.add_argument("--eval-sizes", default=None, help="comma list of sizes for the card's clean accuracy")
    parser.add_argument("--eval-images", type=int, default=TrainConfig.eval_images)
    args = parser.parse_args(argv)
    configs = control_configs(args) if args.controls else [config_from_args(args)]
    for config in configs:
        model, stats = train(config, log=lambda line: print(line, flush=True))
        weights, card = save(model, model_card(config, stats), args.out)
        print(f"wrote {weights} ({weights.stat().st_size / 1e6:.2f} MB) and {card}", flush=True)
    return 0


def control_configs(args: argparse.Namespace) -> list[TrainConfig]:
    """Every control model, seed-major (all sizes of seed 0 first), as `--sizes N --seed S` would train it."""
    if args.sizes or args.name:
        raise SystemExit("advlens train-demo: --controls trains the fixed set of control models; drop --sizes/--name")
    configs = []
    for seed in CONTROL_SEEDS:
        for size in CONTROL_SIZES:
            args.sizes, args.seed = str(size), seed
            configs.append(config_from_args(args))
    return configs


if __name__ == "__main__":
    raise SystemExit(main())
