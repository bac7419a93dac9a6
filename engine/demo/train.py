"""Train the bundled demo classifier on procedural shapes, reproducibly from a seed.

`advlens train-demo --out resources/models` (or `python -m advlens.engine.demo.train`) writes
`shapes-cnn.safetensors` and its model card `shapes-cnn.json`, clean accuracy per resolution
included. Mixed-resolution batches (one size per batch) teach the network every scale it will see.
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

from .net import DEFAULT_WIDTHS, ShapesNet, receptive_field
from .shapes import CLASSES, EVAL_SEED_BASE, eval_seeds, render_batch

MODEL_NAME = "shapes-cnn"


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
    extra: dict = field(default_factory=dict)


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
    loader = DataLoader(_ShapeBatches(config), batch_size=None, num_workers=1, prefetch_factor=8)
    start = time.time()
    running = 0.0
    model.train()
    for step, (images, labels) in enumerate(loader):
        loss = torch.nn.functional.cross_entropy(model(images), labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        value = loss.item()
        running = 0.98 * running + 0.02 * value if step else value
        if step % 200 == 0 or step == config.steps - 1:
            log(f"step {step:5d}/{config.steps}  loss {running:.3f}  {time.time() - start:6.0f} s")
    elapsed = time.time() - start
    accuracy = evaluate(model, config.eval_sizes, config.eval_images)
    log("clean accuracy: " + ", ".join(f"{s}px {a:.1%}" for s, a in accuracy.items()))
    return model, {"train_seconds": round(elapsed, 1), "accuracy": accuracy}


def model_card(config: TrainConfig, stats: dict) -> dict:
    """The card that ships beside the weights: what the model is, how it was made, how good it is."""
    return {
        "name": MODEL_NAME,
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
        "training": {**{k: v for k, v in asdict(config).items() if k != "extra"}, **stats_summary(stats)},
        "license": "MIT (weights trained by advlens train-demo)",
    }


def stats_summary(stats: dict) -> dict:
    return {"train_seconds": stats["train_seconds"], "torch": torch.__version__}


def save(model: ShapesNet, card: dict, out_dir: Path) -> tuple[Path, Path]:
    """Write weights (safetensors) and card (JSON), each through a temp file and a rename."""
    from safetensors.torch import save_file

    out_dir.mkdir(parents=True, exist_ok=True)
    weights = out_dir / f"{MODEL_NAME}.safetensors"
    card_path = out_dir / f"{MODEL_NAME}.json"
    tmp = weights.with_suffix(".safetensors.tmp")
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp))
    os.replace(tmp, weights)
    tmp_card = card_path.with_suffix(".json.tmp")
    tmp_card.write_text(json.dumps(card, indent=2) + "\n")
    os.replace(tmp_card, card_path)
    return weights, card_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="advlens train-demo", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[2] / "resources" / "models")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=TrainConfig.steps)
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args(argv)
    config = TrainConfig(seed=args.seed, steps=args.steps, threads=args.threads)
    model, stats = train(config)
    weights, card = save(model, model_card(config, stats), args.out)
    print(f"wrote {weights} ({weights.stat().st_size / 1e6:.2f} MB) and {card}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
