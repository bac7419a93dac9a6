"""Transfer: adversarials made on model A, evaluated on model B, for every pair."""

from __future__ import annotations

import torch

from ..batches import run_attack_on
from ..config import AttackConfig
from ..diagnostics.judge import transfer_failure
from ..jobs import Progress, stop_flag
from ..model import Model
from .results import TransferTable


def transfer_table(models: dict[str, Model], images: torch.Tensor, labels: torch.Tensor, config: AttackConfig,
                   progress: Progress | None = None) -> TransferTable:
    """Only images every model classifies correctly count, so each cell is a pure transfer rate."""
    names = list(models)
    with torch.no_grad():
        correct = torch.ones(len(images), dtype=torch.bool)
        for m in models.values():
            correct &= m(images.to(m.device)).argmax(1).cpu() == labels
    x, y = images[correct], labels[correct]
    table = [[float("nan")] * len(names) for _ in names]
    failures = [[0] * len(names) for _ in names]
    indicators: list[dict] = []
    for i, source in enumerate(names):
        adv, on_source = run_attack_on(models[source], x, y, config, should_stop=stop_flag(progress))
        for j, target in enumerate(names):
            m = models[target]
            with torch.no_grad():
                fooled = m(adv.to(m.device)).argmax(1).cpu() != y
            table[i][j] = float(fooled.float().mean()) if len(y) else float("nan")
            if i != j:
                failures[i][j] = int((on_source & ~fooled).sum())
                indicators.append(transfer_failure(source, target, int(on_source.sum()), failures[i][j]).to_dict()
                                  | {"source": source, "target": target})
        if progress is not None:
            progress.report(i + 1, len(names), TransferTable(names, [row[:] for row in table], len(y),
                                                             [row[:] for row in failures], list(indicators)))
    return TransferTable(names, table, len(y), failures, indicators)
