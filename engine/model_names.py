"""Which model a name or path means: bundled aliases ('demo' is 'shapes-cnn') and one identity per model.

Design note. The same model reaches AdvLens under several names: the alias 'demo', its bundled name
'shapes-cnn', the bundled weights file opened by path, the same file by a relative path or a link. A
transfer table that compares a model with itself under two names shows a perfect "transfer" that
means nothing, so the Analysis tab, the CLI and the engine compare `model_identity` instead of names.
Torch-free (the GUI process reads it): bundled names are the card files in resources/models.
"""

from __future__ import annotations

import re
from pathlib import Path

DEMO_MODEL = "shapes-cnn"
MODEL_ALIASES = {"demo": DEMO_MODEL}
CONTROL_ALIAS = re.compile(r"demo-r(\d+)")  # demo-r32 -> shapes-cnn-r32
HUB_PREFIXES = ("torchvision:", "timm:", "hf:")
BUNDLED_FILE_SUFFIXES = (".safetensors", ".json")


def model_alias(name: str) -> str:
    """The bundled name behind an alias: 'demo' is the demo model, 'demo-rN' its control model trained at N px."""
    match = CONTROL_ALIAS.fullmatch(name)
    return f"{DEMO_MODEL}-r{match.group(1)}" if match else MODEL_ALIASES.get(name, name)


def bundled_models_dir() -> Path:
    """resources/models: a JSON card per bundled model (safetensors weights beside it or named in it)."""
    from .. import resources

    return Path(resources.__file__).resolve().parent / "models"


def bundled_names() -> set[str]:
    """The bundled models' names (their cards' stems), read without loading anything."""
    return {path.stem for path in bundled_models_dir().glob("*.json")}


def model_identity(spec: str) -> str:
    """One string per model, whatever it was called: 'bundled:NAME' for a bundled model (by name, by
    alias, or its own weights or card file opened by path), the hub name for torchvision:/timm:/hf:
    models, 'file:' and the resolved path for any other file or folder."""
    text = str(spec).strip()
    names = bundled_names()
    name = model_alias(text)
    if name in names:
        return f"bundled:{name}"
    if text.startswith(HUB_PREFIXES):
        return text
    path = Path(text).expanduser()
    try:
        resolved = path.resolve()
    except OSError:
        resolved = path.absolute()
    if resolved.suffix in BUNDLED_FILE_SUFFIXES and resolved.stem in names and resolved.parent == bundled_models_dir():
        return f"bundled:{resolved.stem}"
    return f"file:{resolved}"


def model_label(spec: str) -> str:
    """A short name for a model in tables and lists: the bundled name (never its alias), a hub name, a
    file's name."""
    identity = model_identity(spec)
    if identity.startswith("bundled:"):
        return identity.removeprefix("bundled:")
    if identity.startswith("file:"):
        return Path(identity.removeprefix("file:")).name
    return identity


def distinct_models(analysed: str, others: list[str]) -> list[str]:
    """`others` without the model analysed and without repeats (by identity, so 'demo' and 'shapes-cnn'
    are one model), in their order."""
    repeats = _repeat_indices(analysed, others)
    return [spec for i, spec in enumerate(others) if i not in repeats]


def repeated_models(analysed: str, others: list[str]) -> list[str]:
    """The specs of `others` that name the model analysed or a model named before them (by identity)."""
    return [others[i] for i in sorted(_repeat_indices(analysed, others))]


def _repeat_indices(analysed: str, others: list[str]) -> set[int]:
    seen = {model_identity(analysed)}
    repeats = set()
    for i, spec in enumerate(others):
        identity = model_identity(spec)
        if identity in seen:
            repeats.add(i)
        seen.add(identity)
    return repeats
