"""The Resolution lab's words: what the reader must know to interpret the slopes, beside the plots."""

from __future__ import annotations

from ..model import Model
from ..samples import SAMPLE_PREFIX
from .resolution_config import ResolutionLabConfig
from .resolution_results import CONVERGENCE_WARN, ConvergenceCheck

SOURCES = ("The papers' bodies could not be read here (abstracts and third-party summaries only): how Dube "
           "defines n, what the expectation is over and what it assumes of the classifier are unverified, so "
           "the lab tests readings of the claim, each with its predicted slopes.")
METHOD = ("Slopes are paired: one least-squares slope per image (and training seed) across the sizes, their "
          "median, and a bootstrap 95% interval over images (and seeds). A failed search is censored at the "
          "norm it reached (the true value is at least that), which bounds that image's slope on one side "
          "instead of dropping it.")


def model_notes(model: Model, mode: str, config: ResolutionLabConfig) -> list[str]:
    """What the reader must know to interpret the slopes of one model seeing every resolution, in words."""
    card = model.card
    notes = [f"Mode: one model for every resolution ({card.name}). The slopes measure how this one set of "
             "weights responds to finer samplings, including how it trades off the scales it was trained on; "
             "the per-resolution control (models trained only at each size) separates that from resolution."]
    if mode == "resize":
        larger = [s for s in config.resolutions if s > card.input_size]
        if len(larger) == len(config.resolutions):
            how = "every size is shrunk to it, and bilinear shrinking forces raw L2 towards +1"
        elif not larger:
            how = "every size is enlarged to it, so the model sees no more detail at any size than the smallest gives"
        else:
            how = (f"sizes above {card.input_size} px are shrunk (which forces raw L2 towards +1), "
                   f"the others enlarged")
        notes.append(f"{card.display_name} has a fixed input size ({card.input_size} px): every resolution is "
                     "resized to it inside the model, so the slopes measure the resize, not the model's "
                     f"sensitivity to resolution ({how}).")
    else:
        trained = f"; it was trained at {card.input_size} px" if card.input_size else ""
        notes.append(f"{card.display_name} accepts any size (global pooling): it sees every resolution "
                     f"natively{trained}.")
    if card.receptive_field_px:
        notes.append(f"Its receptive field is {card.receptive_field_px} px: at larger sizes a unit sees a smaller "
                     "share of the image, so one multi-resolution model also changes what it looks at as s grows.")
    if card.train_sizes:
        lo, hi = min(card.train_sizes), max(card.train_sizes)
        outside = [s for s in config.resolutions if s < lo or s > hi]
        notes.append(f"It was trained at {lo}-{hi} px" + (f"; {outside} lie outside that range." if outside else "."))
    return notes + setting_notes(config)


def control_notes(by_size: dict[int, list[Model]], missing: list[int], config: ResolutionLabConfig) -> list[str]:
    """What the reader must know about the per-resolution control: different models at each size."""
    listing = ", ".join(f"{s} px: {' + '.join(m.card.name for m in ms)}" for s, ms in sorted(by_size.items()))
    seeds = max(len(ms) for ms in by_size.values())
    notes = [f"Mode: per-resolution control models, each resolution attacked on the models trained at that size "
             f"({listing}). No set of weights has to serve several scales, so the slopes measure how minimal "
             "perturbations scale across models that each see only their own resolution (Simon-Gabriel et "
             "al.'s design: the same CNN trained at each size)."]
    if seeds > 1:
        notes.append(f"{seeds} training seeds per size: the k-th model of every size forms one replicate, each "
                     "image's slope is fitted within a replicate, and the interval resamples seeds as well as "
                     "images, so run-to-run variation is in it.")
    else:
        notes.append("One training run per size: run-to-run variation is not in the interval, which resamples "
                     "images only.")
    steps = {m.card.extra.get("training", {}).get("steps") for ms in by_size.values() for m in ms}
    if len(steps) > 1:
        notes.append(f"The models were trained for different numbers of steps ({sorted(s for s in steps if s)}): "
                     "the slopes also carry that difference.")
    if missing:
        notes.append(f"No model trained at {', '.join(str(s) for s in missing)} px: "
                     f"{'that resolution is' if len(missing) == 1 else 'those resolutions are'} skipped.")
    flat = [(s, m) for s, ms in sorted(by_size.items()) for m in ms]
    resized = sorted({s for s, m in flat if m.fixed_input_size is not None and m.fixed_input_size != s})
    if resized:
        notes.append(f"At {resized} px the model has another fixed input size and sees the image through a resize: "
                     "those points measure the resize, not resolution.")
    off = [f"{m.card.name} at {s} px" for s, m in flat if m.card.train_sizes and s not in m.card.train_sizes]
    if off:
        notes.append(f"Not trained at the size it is attacked at: {', '.join(off)}.")
    mixed = [f"{m.card.name} at {s} px" for s, m in flat if len(set(m.card.train_sizes)) > 1]
    if mixed:
        notes.append(f"Trained at several sizes, not only the one it is attacked at: {', '.join(mixed)}.")
    fields_px = {m.card.receptive_field_px for _, m in flat}
    if len(fields_px) == 1 and None not in fields_px:
        notes.append(f"All have a receptive field of {fields_px.pop()} px, fixed in pixels: relative to the image "
                     "it shrinks as s grows, as for one model. The control changes the weights, not the "
                     "architecture.")
    return notes + setting_notes(config)


def setting_notes(config: ResolutionLabConfig) -> list[str]:
    """Notes on the sources, images, condition and attack, the same in both modes."""
    notes = [SOURCES]
    if not (config.images.startswith("demo:") or config.images.startswith(SAMPLE_PREFIX)):
        notes.append("Your images carry no labels: at each resolution the attack moves the model away from "
                     "its own clean prediction, so no image is skipped (the share whose prediction changes "
                     "with the size is reported).")
    if config.condition == "nearest-upsampled":
        notes.append(f"Condition: nearest-neighbour upsampling of the {config.resolutions[0]} px images "
                     "(adds no detail); a control, not the claim's setting.")
    else:
        notes.append("Condition: each resolution is the same scene sampled more finely "
                     "(demo scenes are drawn natively; photos are area-downsampled).")
    notes.append(f"Attack: {config.attack.upper()} ({config.steps} steps), a near-minimal search: its norms are "
                 "upper bounds on the true minimal perturbation. Misclassified images are skipped and counted.")
    notes.append(METHOD)
    return notes


def convergence_note(checks: list[ConvergenceCheck]) -> str | None:
    """One sentence on the doubled-steps re-run, a warning first when a median moved by more than 5%."""
    if not checks:
        return None
    parts = [f"{c.resolution} px {c.norm.upper()} {c.change:+.1%} ({c.images} images)" for c in checks]
    moved = [c for c in checks if not c.converged]
    head = (f"WARNING: the attack has not converged: twice the steps moved the median by more than "
            f"{CONVERGENCE_WARN:.0%} at " + ", ".join(f"{c.resolution} px {c.norm.upper()}" for c in moved) + ". "
            if moved else "Convergence: ")
    rerun = "Re-running" if moved else "re-running"
    return head + f"{rerun} a subset with {checks[0].steps} steps changed the median by " + ", ".join(parts) + "."


def prediction_note(share: float | None, images: int) -> str | None:
    if share is None:
        return None
    return (f"Unlabelled images: the clean prediction changes across the sizes for {share:.0%} of the {images} "
            "images (each size is attacked away from its own prediction, so those images compare different "
            "boundaries).")
