"""The one schema of a run record: what record.json and arrays.npz may hold, checked before anything is built.

A record is a file people share, so a tampered or odd one (wrong types, empty lists, huge numbers, an
array header asking for a terabyte) must be refused with one RecordError line instead of a traceback
or an allocation. The arrays' shapes and types are read from their .npy headers inside the zip before
a byte of data is read. Where a record may be written is decided here too (`check_destination`).
"""

from __future__ import annotations

import math
import os
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .errors import AdvLensError
from .files import check_file, folder_is_empty, open_file

# 2 adds adv_topk_index / adv_topk_prob (format 1 records load without them); 3: the norms (l0, l2,
# linf) per step are taken on the steps that had a frame (the telemetry's rate, and the last step)
# and are NaN on the others; every other metric is kept for every step, as before.
FORMAT_VERSION = 3
MAX_TOP_K = 1000
MAX_RECORD_JSON = 64 << 20
MAX_ARRAYS_FILE = 8 << 30
MAX_ARRAY_BYTES = 4 << 30  # all arrays of a record together, once decompressed
MAX_IMAGES = 10_000
MAX_SIDE = 8192
MAX_STEPS = 10_000_000
MAX_CLASSES = 1_000_000
MAX_TEXT = 100_000
MAX_SEED = 2**63 - 1  # as config.MAX_SEED: torch.Generator.manual_seed takes a signed 64-bit seed
STATUSES = ("finished", "cancelled")
NORMS = ("linf", "l2", "l1")
FILTERS = ("area", "bilinear", "bicubic", "lanczos", "nearest")
FITS = ("auto", "crop", "squash", "pad")


class RecordError(AdvLensError):
    """A run record folder is missing, incomplete, tampered with or not a run record."""


class _Bad(Exception):
    """One schema violation: the message names the field."""


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _int(data: dict, key: str, lo: int, hi: int, optional: bool = False) -> None:
    value = data.get(key)
    if value is None and optional:
        return
    if not _is_int(value) or not lo <= value <= hi:
        raise _Bad(f"'{key}' must be a whole number from {lo} to {hi}, got {_show(value)}")


def _number(data: dict, key: str, lo: float, hi: float, optional: bool = False) -> None:
    value = data.get(key)
    if value is None and optional:
        return
    if not _is_number(value) or not math.isfinite(value) or not lo <= value <= hi:
        raise _Bad(f"'{key}' must be a finite number from {lo:g} to {hi:g}, got {_show(value)}")


def _text(data: dict, key: str, choices: tuple[str, ...] | None = None, optional: bool = False) -> None:
    value = data.get(key)
    if value is None and optional:
        return
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise _Bad(f"'{key}' must be text, got {_show(value)}")
    if choices is not None and value not in choices:
        raise _Bad(f"'{key}' must be one of {', '.join(choices)}, got {_show(value)}")


def _bool(data: dict, key: str) -> None:
    if not isinstance(data.get(key), bool):
        raise _Bad(f"'{key}' must be true or false, got {_show(data.get(key))}")


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _list(data: dict, key: str, length: int | None, item, lo_len: int = 1, hi_len: int = MAX_IMAGES) -> list:
    value = data.get(key)
    if not isinstance(value, list) or not lo_len <= len(value) <= hi_len:
        raise _Bad(f"'{key}' must be a list of {lo_len} to {hi_len} entries, got {_show(value)}")
    if length is not None and len(value) != length:
        raise _Bad(f"'{key}' has {len(value)} entries where the record has {length} images")
    for entry in value:
        if not item(entry):
            raise _Bad(f"'{key}' holds {_show(entry)}, which does not belong there")
    return value


def _check_attack(attack: object) -> None:
    if not isinstance(attack, dict):
        raise _Bad("'config.attack' must be an object")
    _text(attack, "attack")
    _text(attack, "norm", NORMS)
    _number(attack, "eps", 0.0, 1e6)
    _int(attack, "steps", 1, MAX_STEPS)
    _number(attack, "step_size", 0.0, 1e6, optional=True)
    _bool(attack, "random_start")
    _int(attack, "target", 0, MAX_CLASSES, optional=True)
    _int(attack, "seed", 0, MAX_SEED)
    _bool(attack, "early_stop")
    _int(attack, "restarts", 1, 10_000)
    params = attack.get("params", {})
    if not isinstance(params, dict) or not all(
            isinstance(k, str) and _is_number(v) and math.isfinite(v) for k, v in params.items()):
        raise _Bad("'config.attack.params' must map setting names to finite numbers")


def _check_config(config: object) -> None:
    if not isinstance(config, dict):
        raise _Bad("'config' must be an object")
    _text(config, "model")
    _text(config, "image")
    _int(config, "resolution", 1, MAX_SIDE, optional=True)
    _text(config, "resample_filter", FILTERS)
    _text(config, "fit", FITS, optional=True)  # absent in records written before the fit choice
    _text(config, "device")
    _check_attack(config.get("attack"))


def check_run_config(config: object, where: str) -> dict:
    """A run configuration read from a file other than a record (a saved GUI session), checked field by
    field as a record's is, so the same hostile values are refused the same way; a RecordError naming
    the first bad field otherwise."""
    try:
        _check_config(config)
        for key in ("fast", "channels_last"):
            if key in config:
                _bool(config, key)
        _text(config, "precision", ("fp32", "bf16", "fp16"), optional=True)
    except _Bad as exc:
        raise RecordError(f"{where}: {exc}") from None
    return config


def check_record(data: object, where: str) -> dict:
    """record.json's content, checked field by field; a RecordError naming the first bad field otherwise."""
    try:
        if not isinstance(data, dict):
            raise _Bad("record.json must hold an object of fields")
        version = data.get("format_version")
        if _is_int(version) and version > FORMAT_VERSION:
            raise _Bad(f"it was written by a newer AdvLens (record format {version}; this one reads "
                       f"{FORMAT_VERSION})")
        _int(data, "format_version", 1, FORMAT_VERSION)
        _check_config(data.get("config"))
        _text(data, "model_name")
        names = _list(data, "class_names", None, lambda v: isinstance(v, str) and len(v) <= 1000, hi_len=MAX_CLASSES)
        count = len(_list(data, "labels", None, lambda v: _is_int(v) and 0 <= v < len(names)))
        for key in ("clean_pred", "adv_pred"):
            _list(data, key, count, lambda v: _is_int(v) and 0 <= v < len(names))
        for key in ("clean_conf", "adv_conf"):
            _list(data, key, count, lambda v: _is_number(v) and 0.0 <= v <= 1.0)
        _list(data, "success", count, lambda v: isinstance(v, bool))
        for key, fits in (("adv_topk_index", lambda v: _is_int(v) and 0 <= v < len(names)),
                          ("adv_topk_prob", lambda v: _is_number(v) and 0.0 <= v <= 1.0)):
            if data.get(key) is not None and data.get(key) != []:  # format 2: the final top-k of each image
                _list(data, key, count, lambda row, fits=fits: isinstance(row, list) and len(row) <= MAX_TOP_K
                      and all(fits(v) for v in row))
        norms = data.get("norms")
        if not isinstance(norms, dict) or not {"l0", "l2", "linf"} <= set(norms):
            raise _Bad("'norms' must hold the l0, l2 and linf norm of each image")
        for key in norms:
            _list(norms, key, count, lambda v: _is_number(v) and math.isfinite(v) and v >= 0)
        _text(data, "device")
        _text(data, "status", STATUSES)
        _int(data, "steps_run", 0, MAX_STEPS * 10_000)
        _number(data, "duration_s", 0.0, 1e9)
        versions = data.get("versions", {})
        if not isinstance(versions, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                     for k, v in versions.items()):
            raise _Bad("'versions' must map library names to version text")
        _text(data, "created", optional=True)
        notes = data.get("model_notes", [])
        if not isinstance(notes, list) or len(notes) > 100 or not all(isinstance(n, str) and len(n) <= 10_000
                                                                       for n in notes):
            raise _Bad("'model_notes' must be a list of at most 100 texts")
        shape = data.get("shape")
        if shape is not None and (not isinstance(shape, list) or len(shape) != 4 or not all(_is_int(v) for v in shape)):
            raise _Bad("'shape' must be four whole numbers")
    except _Bad as exc:
        raise RecordError(f"{where}: record.json: {exc}") from None
    return data


def _npy_header(member) -> tuple[tuple[int, ...], np.dtype, int]:
    """(shape, dtype, header bytes) of a .npy stream, without reading its data."""
    version = np.lib.format.read_magic(member)
    if version == (1, 0):
        shape, _fortran, dtype = np.lib.format.read_array_header_1_0(member)
    elif version in ((2, 0), (3, 0)):
        shape, _fortran, dtype = np.lib.format.read_array_header_2_0(member)
    else:
        raise _Bad(f"an array format {version} numpy does not write")
    return tuple(shape), dtype, member.tell()


def read_record_arrays(folder: Path, data: dict) -> dict:
    """original, adversarial and metrics from arrays.npz, each checked from its header before it is read."""
    where = f"{folder} is not a readable run record"
    count = len(data["labels"])
    handle = open_file(folder / "arrays.npz", "an arrays.npz", RecordError, label=f"{where}: arrays.npz",
                       max_bytes=MAX_ARRAYS_FILE)
    try:
        with handle, zipfile.ZipFile(handle) as archive:
            infos = {info.filename: info for info in archive.infolist()}
            if len(infos) != len(archive.infolist()) or len(infos) > 64:
                raise _Bad("it holds repeated or too many members")
            for name in ("original.npy", "adversarial.npy"):
                if name not in infos:
                    raise _Bad(f"it has no {name[:-4]} images")
            wanted, shapes, total = {}, {}, 0
            for name, info in infos.items():
                if not name.endswith(".npy") or not (name in ("original.npy", "adversarial.npy")
                                                     or name.startswith("metric_")):
                    raise _Bad(f"it holds {name[:40]!r}, which a record does not")
                with archive.open(info) as member:
                    shape, dtype, header = _npy_header(member)
                if dtype.kind != "f" or dtype.itemsize not in (4, 8) or dtype.hasobject:
                    raise _Bad(f"{name[:-4]} holds {dtype}, not floating-point numbers")
                if name in ("original.npy", "adversarial.npy"):
                    if (len(shape) != 4 or shape[0] != count or shape[1] not in (1, 3)
                            or not all(1 <= side <= MAX_SIDE for side in shape[2:])):
                        raise _Bad(f"{name[:-4]} has shape {list(shape)[:6]}; a record holds ({count}, 1 or 3, H, W) "
                                   f"images of at most {MAX_SIDE} px")
                elif len(shape) != 2 or shape[1] != count or not 0 <= shape[0] <= MAX_STEPS:
                    raise _Bad(f"{name[:-4]} has shape {list(shape)[:6]}; a metric is (steps, {count})")
                size = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
                total += size
                if total > MAX_ARRAY_BYTES:
                    raise _Bad(f"its arrays would take {total / 2**30:.1f} GiB (at most "
                               f"{MAX_ARRAY_BYTES / 2**30:.0f} GiB)")
                if info.file_size != header + size:
                    raise _Bad(f"{name[:-4]} is truncated or padded ({info.file_size} bytes for {header + size})")
                wanted[name[:-4]] = info
                shapes[name[:-4]] = shape
            if shapes["original"] != shapes["adversarial"]:
                raise _Bad("the original and adversarial images differ in shape")
            arrays = {}
            for key, info in wanted.items():
                with archive.open(info) as member:
                    arrays[key] = np.lib.format.read_array(member, allow_pickle=False)
    except _Bad as exc:
        raise RecordError(f"{where}: arrays.npz: {exc}") from None
    except (zipfile.BadZipFile, zlib.error, struct.error, OSError, ValueError, EOFError, KeyError, TypeError,
            NotImplementedError, OverflowError) as exc:
        detail = str(exc).splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        raise RecordError(f"{where}: arrays.npz is corrupt ({detail})") from exc
    metrics = {k[len("metric_"):]: v for k, v in arrays.items() if k.startswith("metric_")}
    return {"original": arrays["original"], "adversarial": arrays["adversarial"], "metrics": metrics}


def is_record_folder(path: Path) -> bool:
    """A folder with a record.json that is a regular file: what `--out` may replace without --force."""
    try:
        check_file(path / "record.json", "a record.json")
    except AdvLensError:
        return False
    return True


def check_destination(folder: str | os.PathLike, force: bool = False) -> Path:
    """Where a record may be written: a new path, an empty folder or an old record; else one RecordError.

    A folder that holds anything else, or a file, is replaced only with `force` (the CLI's --force);
    the current folder and the folders above it (`--out .`) never are.
    """
    raw = str(folder)
    path = Path(os.path.abspath(raw))
    cwd = Path(os.path.abspath(os.getcwd()))
    if path == cwd or path in cwd.parents or path == Path(path.anchor) or path == Path.home():
        raise RecordError(f"cannot write a run record over {raw or '.'}: it is the current folder, one above it or "
                          f"your home folder; give a new folder for the record")
    if not os.path.lexists(path):
        return path
    if path.is_dir() and (folder_is_empty(path) or is_record_folder(path)):
        return path
    if force:
        return path
    what = "a folder that is not a run record" if path.is_dir() else "not a folder"
    raise RecordError(f"{raw} is {what}; it is left as it is: choose a new folder, or pass --force "
                      f"(force=True) to replace it")
