"""Transfer: adversarials made on model A, evaluated on model B, for every pair."""

from __future__ import annotations

import torch

from ..config import AttackConfig
from ..diagnostics.judge import transfer_failure
from ..executor import Executor, JobGroup, SweepJob, array_of
from ..jobs import Progress, stop_flag
from ..model import Model
from .results import TransferTable


def transfer_table(models: dict[str, Model], images: torch.Tensor, labels: torch.Tensor, config: AttackConfig,
                   progress: Progress | None = None, batch: int = 64,
                   executor: Executor | None = None) -> TransferTable:
    """Only images every model classifies correctly count, so each cell is a pure transfer rate.

    One executor job per source model makes its adversarials; each row is then scored on every model here."""
    names = list(models)
    with torch.no_grad():
        correct = torch.ones(len(images), dtype=torch.bool)
        for m in models.values():
            correct &= m(images.to(m.device)).argmax(1).cpu() == labels
    x, y = images[correct], labels[correct]
    table = [[float("nan")] * len(names) for _ in names]
    failures = [[0] * len(names) for _ in names]
    indicators: list[dict] = []
    with JobGroup(executor, stop_flag(progress)) as jobs:
        futures = [jobs.submit(SweepJob(jobs.register_model(models[source]), config.to_dict(), array_of(x),
                                        array_of(y), seed=config.seed, batch=batch, tag=f"transfer from {source}"))
                   for source in names]
        for i, (source, found) in enumerate(zip(names, jobs.in_order(futures), strict=True)):
            adv, on_source = torch.from_numpy(found.adversarial), torch.from_numpy(found.success)
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
