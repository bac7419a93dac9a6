"""Which Python objects a pickle would build, read off its opcodes without unpickling anything.

A state dict needs only tensors, storages and plain containers; a pickle naming any other global (a
function such as `posix.system`, a class with a `__reduce__`) would run code when unpickled. Reading the
opcodes (`pickletools.genops`) executes nothing, so the refusal can name what the file wanted, in AdvLens's
words, whatever torch's weights-only reader would have said.
"""

from __future__ import annotations

import io
import pickletools
import zipfile
from pathlib import Path
from typing import BinaryIO

_STRING_OPS = {"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE", "STRING", "BINSTRING", "SHORT_BINSTRING"}
_PUT_OPS = {"PUT", "BINPUT", "LONG_BINPUT"}
_GET_OPS = {"GET", "BINGET", "LONG_BINGET"}
LEGACY_PICKLES = 5  # magic number, protocol, system info, the object, the storage keys


def allowed_globals() -> frozenset[str]:
    """The globals torch's weights-only unpickler builds (tensors, storages, dtypes, plain containers)."""
    try:
        from torch import _weights_only_unpickler as unpickler

        names = set(unpickler._get_allowed_globals()) | set(unpickler._get_user_allowed_globals())
    except (ImportError, AttributeError):  # a torch without the private table: the essentials only
        names = {"collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter",
                 "torch.FloatStorage", "torch.HalfStorage", "torch.DoubleStorage", "torch.LongStorage",
                 "torch.IntStorage", "torch.ByteStorage", "torch.BoolStorage", "torch.BFloat16Storage"}
    return frozenset(names)


def _globals_in_stream(stream: BinaryIO) -> list[str]:
    """The dotted names one pickle in `stream` refers to (GLOBAL, INST, STACK_GLOBAL, extension codes)."""
    found: list[str] = []
    recent: list[object] = []  # the last values pushed, as far as strings go (enough for STACK_GLOBAL)
    memo: dict[object, object] = {}
    for opcode, arg, _pos in pickletools.genops(stream):
        name = opcode.name
        if name in ("GLOBAL", "INST"):
            module, _, attr = str(arg).partition(" ")
            found.append(f"{module}.{attr}")
            recent.append(None)
        elif name in _STRING_OPS:
            recent.append(arg if isinstance(arg, str) else arg.decode("latin-1") if isinstance(arg, bytes) else None)
        elif name in _PUT_OPS:
            memo[arg] = recent[-1] if recent else None
        elif name == "MEMOIZE":
            memo[len(memo)] = recent[-1] if recent else None
        elif name in _GET_OPS:
            recent.append(memo.get(arg))
        elif name == "STACK_GLOBAL":
            module, attr = (recent[-2], recent[-1]) if len(recent) >= 2 else (None, None)
            found.append(f"{module}.{attr}" if isinstance(module, str) and isinstance(attr, str)
                         else "a global it names indirectly")
            recent.append(None)
        elif name in ("EXT1", "EXT2", "EXT4"):
            found.append(f"copyreg extension {arg}")
            recent.append(None)
        else:
            recent.append(None)
        del recent[:-4]
    return found


def pickle_globals(path: Path, kind: str) -> list[str]:
    """The globals a torch.save file (zip or legacy) or a plain pickle names, in order of appearance.

    Raises ValueError (or zipfile/EOF errors) for bytes that are not pickles; the caller words it.
    """
    if kind != "pickle" and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.endswith("data.pkl") and n.count("/") <= 1]
            found: list[str] = []
            for member in names:
                found += _globals_in_stream(io.BytesIO(archive.read(member)))
            return found
    found = []
    with open(path, "rb") as handle:
        for index in range(LEGACY_PICKLES if kind != "pickle" else 1):
            try:
                found += _globals_in_stream(handle)
            except ValueError:
                if index == 0:
                    raise
                break
    return found


def code_globals(path: Path, kind: str) -> list[str]:
    """The globals in the file that torch's weights-only reader would not build: each could run code."""
    allowed = allowed_globals()
    seen: list[str] = []
    for name in pickle_globals(path, kind):
        if name not in allowed and name not in seen:
            seen.append(name)
    return seen
