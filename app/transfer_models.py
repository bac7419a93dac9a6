"""Which models a transfer table may compare with the attacked one, each model once.

Design note. A transfer table run on the same model twice (under an alias, by its bundled file, by a
second path) shows a perfect transfer that means nothing, and one run on the model attacked compares
it with itself. So the candidates are keyed by `model_identity`, never by name: the bundled models
(less the Resolution lab's controls, each trained at one size only), the models opened in the
Explorer and the files added in the Analysis tab, with the attacked model left out. What the person
unchecked is remembered by identity for the session, so a model checked or not stays so when the
Explorer switches models and back. Qt-free and torch-free: plain data the Analysis tab shows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from advlens.engine.model_names import model_identity, model_label


@dataclass(frozen=True)
class TransferCandidate:
    """One model the transfer table can use: what the request calls it and where the engine finds it."""

    spec: str  # the request's name for it: a bundled name, a hub name or a file path (its identity is the model's)
    label: str  # a short name for the list and the table
    title: str  # the longer description (a bundled model's title, a file's path)
    identity: str
    engine_key: str = ""  # the engine's key of the model loaded already (an added file), else '' (loaded by spec)


def transfer_candidates(attacked: str, bundled: Iterable[tuple[str, str]], controls: Iterable[str],
                        opened: Iterable[str], added: dict[str, str]) -> list[TransferCandidate]:
    """The candidates in list order (bundled, opened in the Explorer, added here), one per identity,
    without the attacked model. `added` maps engine keys to files; a file both opened and added is the
    added one (it was loaded with the person's trust or card)."""
    skip = {model_identity(attacked)} if attacked else set()
    keys = {model_identity(path): key for key, path in added.items()}
    controls = set(controls)
    entries = [(name, title) for name, title in bundled if name not in controls]
    entries += [(spec, spec) for spec in opened]
    entries += [(path, path) for path in added.values()]
    candidates: list[TransferCandidate] = []
    for spec, title in entries:
        identity = model_identity(spec)
        if identity in skip:
            continue
        skip.add(identity)
        key = keys.get(identity, "")
        spec = added[key] if key else spec
        candidates.append(TransferCandidate(spec, model_label(spec), title, identity, key))
    return candidates


class TransferChoice:
    """The person's choice of transfer models for the session: every candidate is checked unless unchecked."""

    def __init__(self) -> None:
        self.unchecked: set[str] = set()  # identities

    def is_checked(self, candidate: TransferCandidate) -> bool:
        return candidate.identity not in self.unchecked

    def set_checked(self, identity: str, checked: bool) -> None:
        if checked:
            self.unchecked.discard(identity)
        else:
            self.unchecked.add(identity)

    def checked(self, candidates: list[TransferCandidate]) -> list[TransferCandidate]:
        return [candidate for candidate in candidates if self.is_checked(candidate)]

