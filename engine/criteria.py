"""What counts as success: criteria are objects, so targeted vs untargeted is not a flag in every attack."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


def _best_other(logits: torch.Tensor, exclude: torch.Tensor) -> torch.Tensor:
    masked = logits.clone()
    masked.scatter_(1, exclude[:, None], float("-inf"))
    return masked.amax(dim=1)


@dataclass
class Misclassification:
    """Untargeted: success when the predicted class differs from the true label."""

    labels: torch.Tensor

    targeted = False

    def is_adversarial(self, logits: torch.Tensor) -> torch.Tensor:
        return logits.argmax(dim=1) != self.labels

    def loss(self, logits: torch.Tensor) -> torch.Tensor:
        """Per-image loss the attack maximises: cross-entropy of the true class."""
        return F.cross_entropy(logits, self.labels, reduction="none")

    def total_loss(self, logits: torch.Tensor) -> torch.Tensor:
        """The loss summed over the batch, in one op: what a gradient step differentiates."""
        return F.cross_entropy(logits, self.labels, reduction="sum")

    def margin(self, logits: torch.Tensor) -> torch.Tensor:
        """Logit gap still to close: true logit minus the best other; below 0 the model is fooled."""
        true = logits.gather(1, self.labels[:, None])[:, 0]
        return true - _best_other(logits, self.labels)

    @property
    def target_classes(self) -> torch.Tensor | None:
        return None


@dataclass
class TargetedMisclassification:
    """Targeted: success when the predicted class is the target."""

    labels: torch.Tensor
    targets: torch.Tensor

    targeted = True

    def is_adversarial(self, logits: torch.Tensor) -> torch.Tensor:
        return logits.argmax(dim=1) == self.targets

    def loss(self, logits: torch.Tensor) -> torch.Tensor:
        """Per-image loss the attack maximises: minus the cross-entropy of the target class."""
        return -F.cross_entropy(logits, self.targets, reduction="none")

    def total_loss(self, logits: torch.Tensor) -> torch.Tensor:
        """The loss summed over the batch, in one op: what a gradient step differentiates."""
        return -F.cross_entropy(logits, self.targets, reduction="sum")

    def margin(self, logits: torch.Tensor) -> torch.Tensor:
        """Best non-target logit minus the target logit; below 0 the target is predicted."""
        target = logits.gather(1, self.targets[:, None])[:, 0]
        return _best_other(logits, self.targets) - target

    @property
    def target_classes(self) -> torch.Tensor | None:
        return self.targets


Criterion = Misclassification | TargetedMisclassification


def make_criterion(labels: torch.Tensor, target: int | torch.Tensor | None) -> Criterion:
    """The criterion for a run: untargeted when `target` is None."""
    if target is None:
        return Misclassification(labels)
    targets = torch.as_tensor(target, device=labels.device, dtype=labels.dtype).expand_as(labels).clone()
    return TargetedMisclassification(labels, targets)
