"""One analysis as plain data, and the one dispatch that runs it: what the Analysis tab sends and what
`advlens sweep` / `advlens analyze` build, with one set of defaults for both. Importing it loads no
torch (the GUI process builds requests); running one does, in the engine process.

A request names its images by source spec (`demo:N`, a folder, ...), its attack as an AttackConfig
(None: the kind's default) and, for transfer, the other models by spec, so it can travel to the
engine process or a cluster worker as it is.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from ..catalogue import attack_spec
from ..config import FITS, AttackConfig
from ..diagnostics.options import DiagnosticsOptions
from ..errors import ConfigError
from ..jobs import Progress
from ..schedulers import parse_scheduler
from ..units import parse_eps_range

if TYPE_CHECKING:  # the request travels to the engine process, whose side needs torch: imported there
    from ..executor import Executor
    from ..imagesets import ImageSet
    from ..model import Model

ANALYSES: tuple[str, ...] = ("sweep", "minimal", "landscape", "noise", "transfer", "frequency")
MINIMAL_KINDS = ("minimal", "landscape")  # analyses that search the smallest perturbation
DEFAULT_SIZE = 32


def default_attack(kind: str) -> AttackConfig:
    """The attack an analysis uses unless told: FMN-L2 (100 steps) for the minimal-norm analyses,
    PGD Linf 8/255 (20 steps) for the budgeted ones."""
    if kind in MINIMAL_KINDS:
        return AttackConfig(attack="fmn", norm="l2", steps=attack_spec("fmn").default_steps)
    return AttackConfig(attack="pgd", norm="linf", eps=8 / 255, steps=20)


def attack_for(kind: str, config: AttackConfig | None) -> AttackConfig:
    """The request's attack, made fit for the kind: a minimal-norm attack where one is searched
    (the landscape's plane is an L2 one), a fixed-budget one elsewhere (no target: these are
    untargeted measures)."""
    base = default_attack(kind)
    if config is None:
        return base
    minimal = attack_spec(config.attack).is_minimal
    if kind in MINIMAL_KINDS:
        if not minimal:
            return replace(base, seed=config.seed)
        norm = "l2" if kind == "landscape" or config.attack == "cw" else config.norm
        return replace(config, norm=norm, target=None, params=dict(config.params))
    if minimal:
        return replace(base, eps=config.eps or base.eps, seed=config.seed)
    return replace(config, target=None, params=dict(config.params))


@dataclass
class AnalysisRequest:
    """What to analyse: the kind, the images, the attack and what the kind needs besides."""

    kind: str
    model: str = "demo"  # the model analysed, by spec (its name in the transfer table)
    images: str = "demo:64"
    resolution: int = DEFAULT_SIZE
    fit: str = "auto"  # how photos meet a fixed-size model: crop, squash, pad (auto: the model's own way)
    attack: AttackConfig | None = None  # None: default_attack(kind)
    eps_range: str = "0:16:1/255"  # sweep: the budgets, START:STOP:STEP or a list
    limit: int | None = 2000  # at most this many files from a folder
    image: str | None = None  # landscape: the image to look around (default: the set's first)
    pixels: np.ndarray | None = None  # landscape: the image itself (C, H, W) in [0, 1] when it has no spec
    label: int | None = None  # landscape: its class (default: known for samples, else the prediction)
    other_models: list[str] = field(default_factory=list)  # transfer: the models besides the first
    batch: int = 64  # sweep: images per attack batch
    diagnostics: bool = True  # sweep: count the images that trigger each indicator of attack failure
    scheduler: str = ""  # where the jobs run: '' the local pool, 'local:N' or tcp://HOST:PORT (schedulers.py)

    def checked(self) -> AnalysisRequest:
        if self.kind not in ANALYSES:
            raise ConfigError(f"unknown analysis '{self.kind}': choose one of {', '.join(ANALYSES)}")
        if self.fit not in FITS:
            raise ConfigError(f"unknown fit '{self.fit}': choose one of {', '.join(FITS)}")
        if not 4 <= int(self.resolution) <= 4096:
            raise ConfigError(f"resolution must be between 4 and 4096 pixels, got {self.resolution}")
        if self.kind == "sweep":
            parse_eps_range(self.eps_range)
        parse_scheduler(self.scheduler)
        if self.kind == "transfer":
            from ..model_names import repeated_models

            repeated = repeated_models(self.model, self.other_models)
            if repeated:
                raise ConfigError(f"{', '.join(repeated)}: the model attacked or another model under a second name "
                                  f"('demo' is 'shapes-cnn'); a transfer table compares different models")
        return replace(self, resolution=int(self.resolution), attack=attack_for(self.kind, self.attack))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (without `pixels`, which only travels in the request itself)."""
        data = asdict(replace(self, pixels=None))
        data.pop("pixels")
        data["attack"] = None if self.attack is None else self.attack.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AnalysisRequest:
        data = dict(data)
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ConfigError(f"unknown analysis settings: {', '.join(sorted(unknown))}")
        attack = data.pop("attack", None)
        return cls(attack=None if attack is None else AttackConfig.from_dict(attack), **data)


def input_size_for(request: AnalysisRequest, model: Model, notes: list[str] | None = None) -> int:
    """The resolution the analysis draws its images at: the model's own input size where it has one."""
    from ..model_input import input_fit

    fitting = input_fit(model, request.resolution, fit=request.fit)
    if notes is not None:
        notes.extend(fitting.notes)
    return int(fitting.size if fitting.size is not None else request.resolution)


def image_set_for(request: AnalysisRequest, model: Model, notes: list[str] | None = None) -> ImageSet:
    """The request's images fitted to the model (`model_input.input_fit`, as for a single attack), with a
    note when their labels are the model's own predictions."""
    from ..demo.shapes import CLASSES
    from ..imagesets import parse_image_source
    from ..model_input import input_fit

    fitting = input_fit(model, request.resolution, fit=request.fit)
    source = parse_image_source(request.images, request.limit)
    data = source.load(int(fitting.size if fitting.size is not None else request.resolution), fitting=fitting)
    if data.labelled and list(model.labels[:len(CLASSES)]) != list(CLASSES):
        data.labels = None  # the demo's shape classes mean nothing to, say, an ImageNet model
        if notes is not None:
            notes.append(f"the demo scenes' classes ({', '.join(CLASSES[:3])}, ...) are not {model.card.display_name}'s "
                         f"classes: their labels are not used")
    if notes is not None:
        notes.extend(fitting.notes)
        if source.kind() in ("folder", "list"):
            notes.extend(fitting.photo_notes)
        if not data.labelled:
            notes.append("these images have no labels: each is attacked away from the model's own clean "
                         "prediction, so clean accuracy is 100% by definition")
        if data.skipped:
            notes.append(f"{len(data.skipped)} file(s) could not be read and were skipped")
    return data


def transfer_models(name: str, model: Model, others: dict[str, Model]) -> dict[str, Model]:
    """The transfer table's models by their short names, the analysed one first. The same model twice (the
    one analysed among the others, or one under two names: 'demo' is 'shapes-cnn') is refused: its row
    would show a perfect transfer that means nothing."""
    from ..model_names import model_identity, model_label

    models = {model_label(name): model}
    identities = {model_identity(name): name}
    for other, network in others.items():
        identity = model_identity(other)
        if identity in identities:
            first = identities[identity]
            what = "the model attacked" if first == name else f"'{first}'"
            raise ConfigError(f"'{other}' is the same model as {what}: a transfer table compares different models")
        identities[identity] = other
        label = model_label(other)
        while label in models:  # two files of one name in different folders
            label += "'"
        models[label] = network
    return models


def run_analysis(request: AnalysisRequest, model: Model, other_models: dict[str, Model] | None = None,
                 progress: Progress | None = None, notes: list[str] | None = None,
                 executor: Executor | None = None) -> Any:
    """Run one analysis on `model` (and, for transfer, `other_models` by name); returns its result object.

    Its jobs run on `executor`, else on the one `request.scheduler` names (started and shut down for
    this call), else on a local pool. What a person should know about the run (a model's fixed size,
    unlabelled images) goes to `notes`.
    """
    from ..executor import executor_for

    request = request.checked()
    if executor is not None or not request.scheduler:
        return _run(request, model, other_models, progress, notes, executor)
    owned = executor_for(request.scheduler)
    try:
        return _run(request, model, other_models, progress, notes, owned)
    finally:
        owned.shutdown()


def _run(request: AnalysisRequest, model: Model, other_models: dict[str, Model] | None, progress: Progress | None,
         notes: list[str] | None, executor: Executor | None) -> Any:
    import torch

    from ..model_input import fitted_image, input_fit
    from .frequency import frequency_comparison
    from .landscape import adversarial_landscape
    from .noise import noise_vs_attack
    from .sweep import minimal_perturbations, robust_accuracy_curve
    from .transfer import transfer_table

    config = request.attack
    assert config is not None
    if request.kind == "landscape":
        if request.pixels is not None or request.image is not None:
            fitting = input_fit(model, request.resolution, fit=request.fit)
            if notes is not None:
                notes.extend(fitting.notes)
            image = (fitting.apply(torch.from_numpy(np.asarray(request.pixels, dtype=np.float32)))
                     if request.pixels is not None else fitted_image(request.image, fitting, notes=notes))
            label = request.label
        else:
            first = image_set_for(request, model, notes)
            image, label = first.images[0], (None if first.labels is None else int(first.labels[0]))
        if label is None:
            with torch.no_grad():
                label = int(model(image[None].to(model.device)).argmax())
        return adversarial_landscape(model, image, int(label), config, progress=progress, executor=executor)
    data = image_set_for(request, model, notes)
    labels = data.labels_for(model)
    if request.kind == "sweep":
        diagnostics = DiagnosticsOptions(seed=config.seed) if request.diagnostics else None
        return robust_accuracy_curve(model, data.images, labels, config, parse_eps_range(request.eps_range),
                                     progress=progress, batch=request.batch, executor=executor,
                                     diagnostics=diagnostics)
    if request.kind == "minimal":
        return minimal_perturbations(model, data.images, labels, config, progress=progress, executor=executor)
    if request.kind == "noise":
        return noise_vs_attack(model, data.images, labels, config, progress=progress, executor=executor)
    if request.kind == "transfer":
        models = transfer_models(request.model, model, other_models or {})
        return transfer_table(models, data.images, labels, config, progress=progress, executor=executor)
    result = frequency_comparison(model, data.images, labels, config, progress=progress, executor=executor)
    result["bands"] = "finest first, last = residual"
    return result
