"""The hostile-case corpus: crafted files and arguments, each with what AdvLens must do with it.

`build(folder)` writes every case's files under `folder` and returns the cases; `run.py` replays them
through the real CLI (`python -m advlens ...`) and prints a table. Every case expects one line on stderr
(no traceback), a given exit code, sometimes words in that line, and, where the file is hostile, that
its marker file was never created and that the person's files are unchanged.

Classes: pickle (issue 7's malicious pickles), corrupt (truncated and garbage model files), torchscript and
pt2 (graphs beyond tensor maths, hangs, memory), image (bombs, truncations, special files), special
(FIFOs, devices, folders as model/card/labels), card (bad fields), labels (files outside the card's
folder), record (tampered run records), out (`--out` over folders that are not records), args (bad
arguments), report (markup in records).
"""

from __future__ import annotations

import io
import json
import os
import pickle
import shutil
import socket
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Case:
    name: str
    kind: str  # the class, for the summary
    args: list[str]
    code: int | tuple[int, ...] = 2
    words: str = ""  # a regular expression the stderr line must match (case-insensitive)
    marker: Path | None = None  # must not exist afterwards
    keep: dict[Path, bytes] = field(default_factory=dict)  # files that must be unchanged afterwards
    check: Callable[[], str | None] | None = None  # extra check after the run: a problem, or None
    stdout_words: str = ""


ATTACK = ["attack", "--steps", "1", "--resolution", "16", "--device", "cpu", "--no-save"]


class MarkerPayload:
    """Unpickling this creates the marker file: what a malicious model would do, harmlessly."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


class SystemPayload:
    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class EvalPayload:
    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (eval, (f"open({self.marker!r}, 'w')",))


def _card(path: Path, labels: list[str], **extra) -> None:
    path.with_suffix(".json").write_text(json.dumps({"name": path.stem, "labels": labels, **extra}))


def build(root: Path) -> list[Case]:
    import torch
    from safetensors.torch import save_file
    from torch import nn

    from advlens.engine.loaders import load_demo_model

    torch.set_num_threads(1)
    root.mkdir(parents=True, exist_ok=True)
    demo = load_demo_model("cpu")
    labels = list(demo.labels)
    cases: list[Case] = []

    def model_case(name: str, kind: str, path: Path, code=2, words="", marker=None, extra=(), **more) -> None:
        cases.append(Case(name, kind, [*ATTACK, "--model", str(path), *extra], code, words, marker, **more))

    # ------------------------------------------------------------------ pickle
    good_state = demo.network.state_dict()
    pk = root / "pickle"
    pk.mkdir()
    payloads = {"open": MarkerPayload, "system": SystemPayload, "eval": EvalPayload}
    for pname, payload in payloads.items():
        for layout in ("zip", "legacy", "plain", "nested", "checkpoint"):
            marker = pk / f"marker-{pname}-{layout}"
            path = pk / f"{pname}-{layout}.pt"
            obj = {"state_dict": dict(good_state, evil=payload(marker))} if layout == "checkpoint" else \
                {"weights": [1, {"deep": payload(marker)}]} if layout == "nested" else {"weights": payload(marker)}
            if layout == "plain":
                path.write_bytes(pickle.dumps(obj))
            else:
                torch.save(obj, path, _use_new_zipfile_serialization=layout != "legacy")
            _card(path, labels, architecture="advlens.shapes_cnn")
            model_case(f"{pname} payload, {layout}", "pickle", path, 2, "full Python pickle|would run code", marker)
    for protocol in range(0, 6):
        marker = pk / f"marker-proto{protocol}"
        path = pk / f"proto{protocol}.pkl"
        path.write_bytes(pickle.dumps({"w": MarkerPayload(marker)}, protocol=protocol))
        _card(path, labels)
        model_case(f"plain pickle protocol {protocol}", "pickle", path, 2, "pickle", marker)
    trusted = pk / "trusted-module.pkl"
    trusted.write_bytes(pickle.dumps(demo.network))
    _card(trusted, labels)
    model_case("a full pickle without --trust-pickle", "pickle", trusted, 2, "--trust-pickle")
    model_case("a full pickle with --trust-pickle", "pickle", trusted, 0, "", extra=["--trust-pickle"])

    # ------------------------------------------------------------------ corrupt
    cr = root / "corrupt"
    cr.mkdir()
    weights = cr / "demo.safetensors"
    save_file({k: v.contiguous() for k, v in good_state.items()}, str(weights))
    good = weights.read_bytes()
    state_pt = cr / "state.pt"
    torch.save(good_state, state_pt)
    state_bytes = state_pt.read_bytes()
    for frac in (0.0, 0.001, 0.1, 0.5, 0.99):
        path = cr / f"trunc-{frac}.safetensors"
        path.write_bytes(good[: int(len(good) * frac)])
        _card(path, labels, architecture="advlens.shapes_cnn")
        model_case(f"safetensors truncated to {frac:.1%}", "corrupt", path)
        path = cr / f"trunc-{frac}.pt"
        path.write_bytes(state_bytes[: int(len(state_bytes) * frac)])
        _card(path, labels, architecture="advlens.shapes_cnn")
        model_case(f"state dict truncated to {frac:.1%}", "corrupt", path)
    huge_header = cr / "huge-header.safetensors"
    huge_header.write_bytes(struct.pack("<Q", 2**62) + b'{"a":1}' + b"\0" * 64)
    _card(huge_header, labels, architecture="advlens.shapes_cnn")
    model_case("safetensors header length 2**62", "corrupt", huge_header)
    bad_json = cr / "bad-json.safetensors"
    bad_json.write_bytes(struct.pack("<Q", 10) + b'{"a":[1,2' + b"\0" * 64)
    _card(bad_json, labels, architecture="advlens.shapes_cnn")
    model_case("safetensors header not JSON", "corrupt", bad_json)
    lying = cr / "lying-offsets.safetensors"
    header = json.dumps({"w": {"dtype": "F32", "shape": [1 << 20, 1 << 20], "data_offsets": [0, 16]}}).encode()
    lying.write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 16)
    _card(lying, labels, architecture="advlens.shapes_cnn")
    model_case("safetensors shape beyond its data", "corrupt", lying)
    for suffix in (".pt", ".pth", ".onnx", ".pt2", ".safetensors", ".bin", ".ckpt", ".ts"):
        path = cr / f"garbage{suffix}"
        path.write_bytes(os.urandom(4096))
        _card(path, labels, architecture="advlens.shapes_cnn")
        model_case(f"random bytes as {suffix}", "corrupt", path)
    empty = cr / "empty.pt"
    empty.write_bytes(b"")
    _card(empty, labels)
    model_case("an empty model file", "corrupt", empty, words="empty")
    text = cr / "text.pt"
    text.write_text("hello, I am not a model\n" * 100)
    _card(text, labels)
    model_case("a text file as a model", "corrupt", text)
    zip_not_torch = cr / "zip.pt"
    with zipfile.ZipFile(zip_not_torch, "w") as archive:
        archive.writestr("hello.txt", "hi")
    _card(zip_not_torch, labels)
    model_case("a zip that is not a PyTorch file", "corrupt", zip_not_torch)
    wrong_arch = cr / "wrong-arch.safetensors"
    shutil.copy(weights, wrong_arch)
    _card(wrong_arch, labels, architecture="nosuch.net")
    model_case("weights for an unknown architecture", "corrupt", wrong_arch, words="unknown architecture")
    few = cr / "few-labels.safetensors"
    shutil.copy(weights, few)
    _card(few, labels[:2], architecture="advlens.shapes_cnn")
    model_case("card names fewer labels than the model has classes", "corrupt", few, words="labels")

    # ------------------------------------------------------------------ torchscript
    ts = root / "torchscript"
    ts.mkdir()

    class FileWriter(nn.Module):
        def __init__(self, path: str):
            super().__init__()
            self.path = path
            self.register_buffer("payload", torch.tensor([104, 105], dtype=torch.uint8))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            written = torch.from_file(self.path, shared=True, size=2, dtype=torch.uint8)
            written.copy_(self.payload)
            return x.mean(dim=(2, 3))[:, :2] + written[:1].float() * 0

    class SetState(nn.Module):
        def __init__(self, path: str):
            super().__init__()
            self.path = path
            self.written = torch.zeros(1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.mean(dim=(2, 3))[:, :2] + self.written

        @torch.jit.export
        def __getstate__(self) -> tuple[str, bool]:
            return (self.path, self.training)

        @torch.jit.export
        def __setstate__(self, state: tuple[str, bool]) -> None:
            self.path = state[0]
            self.training = state[1]
            self.written = torch.from_file(self.path, shared=True, size=1, dtype=torch.uint8).float()

    class Printer(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            print("I print")
            return x.mean(dim=(2, 3))[:, :2]

    class Spins(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            i = 0
            while i < 10**15:
                i += 1
            return x.mean(dim=(2, 3))[:, :2]

    class Hungry(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.mean(dim=(2, 3))[:, :2] + torch.ones(1 << 37)[:1]

    class IntLogits(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return (x.mean(dim=(2, 3))[:, :2] * 10).long()

    class NanLogits(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.mean(dim=(2, 3))[:, :2] * float("nan")

    class ThreeD(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.mean(dim=3)

    class Raises(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            raise RuntimeError("I refuse every input")

    class Good(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.mean(dim=(2, 3))[:, :2]

    def ts_case(name: str, path: Path, code=2, words="", marker=None) -> None:
        model_case(name, "torchscript", path, code, words, marker, extra=["--label", "0"])

    def script(name: str, module: nn.Module, classes: int = 2) -> Path:
        path = ts / f"{name}.pt"
        torch.jit.save(torch.jit.script(module), str(path))
        _card(path, [f"c{i}" for i in range(classes)])
        return path

    marker = ts / "marker-from-file"
    ts_case("forward writes a file (torch.from_file)", script("writer", FileWriter(str(marker))),
               2, "aten::from_file", marker)
    marker2 = ts / "marker-setstate"
    setstate = script("setstate", SetState(str(marker2)))
    marker2.unlink(missing_ok=True)
    ts_case("__setstate__ writes a file while loading", setstate, 2, "__setstate__", marker2)
    ts_case("forward prints", script("printer", Printer()), 2, "prim::Print")
    ts_case("a plain scripted model", script("good", Good()), 0)
    ts_case("the demo, scripted", script("demo", demo.network, len(labels)), 0)
    ts_case("forward never returns", script("spins", Spins()), 2, "did not finish")
    ts_case("forward allocates 512 GiB", script("hungry", Hungry()), 2, "memory")
    ts_case("integer logits", script("int-logits", IntLogits()), 2, "floating-point")
    ts_case("NaN logits", script("nan-logits", NanLogits()), 2, "NaN")
    ts_case("3-D output", script("three-d", ThreeD()), 2, "logit vector")
    ts_case("forward raises", script("raises", Raises()), 2, "refuse every input")
    dup = ts / "duplicate.pt"
    with zipfile.ZipFile(ts / "good.pt") as original, zipfile.ZipFile(dup, "w") as copy:
        for info in original.infolist():
            copy.writestr(info.filename, original.read(info))
        copy.writestr(original.infolist()[0].filename, b"second")
    _card(dup, ["c0", "c1"])
    model_case("two archive members of one name", "torchscript", dup, 2, "same name")
    classes = ts / "torchclasses.pt"
    with zipfile.ZipFile(ts / "good.pt") as original, zipfile.ZipFile(classes, "w") as copy:
        for info in original.infolist():
            data = original.read(info)
            copy.writestr(info.filename, data + b"\n# torch.classes.evil.Thing" if info.filename.endswith(".py")
                          else data)
    _card(classes, ["c0", "c1"])
    model_case("code naming a torch.classes object", "torchscript", classes, 2, "torch.classes")

    # ------------------------------------------------------------------ pt2
    p2 = root / "pt2"
    p2.mkdir()
    batch = torch.export.Dim("batch", min=1, max=64)
    program = torch.export.export(demo.network, (torch.rand(2, 3, 32, 32),), dynamic_shapes={"x": {0: batch}})
    base = p2 / "demo.pt2"
    torch.export.save(program, str(base))
    _card(base, labels)
    model_case("the demo, exported", "pt2", base, 0)

    def rewrite(name: str, edit_graph=None, extra: dict | None = None, edit_member=None) -> Path:
        path = p2 / f"{name}.pt2"
        with zipfile.ZipFile(base) as old, zipfile.ZipFile(path, "w") as new:
            for info in old.infolist():
                data = old.read(info)
                if edit_graph and "/models/" in info.filename:
                    graph = json.loads(data)
                    edit_graph(graph)
                    data = json.dumps(graph).encode()
                if edit_member:
                    data = edit_member(info.filename, data)
                new.writestr(info, data)
            prefix = old.infolist()[0].filename.split("/", 1)[0]
            for member, data in (extra or {}).items():
                new.writestr(f"{prefix}/{member}", data)
        _card(path, labels)
        return path

    def set_target(target: str):
        def edit(graph):
            graph["graph_module"]["graph"]["nodes"][0]["target"] = target
        return edit

    def set_exprs(expr: str):
        def edit(graph):
            stack = [graph]
            while stack:
                item = stack.pop()
                if isinstance(item, dict):
                    if isinstance(item.get("expr_str"), str):
                        item["expr_str"] = expr
                    stack.extend(item.values())
                elif isinstance(item, list):
                    stack.extend(item)
        return edit

    for target in ("torch.ops.aten.from_file.default", "torch.os.system", "torch.ops.mylib.evil.default",
                   "torch.ops.higher_order.cond", "torch.ops.aten.save.default", "torch.load", "builtins.eval",
                   "#custom_extension"):
        safe = target.replace(".", "_").replace("#", "x")
        model_case(f"graph calls {target}", "pt2", rewrite(f"target-{safe}", set_target(target)), 2,
                   target.replace(".", r"\.").replace("#", "."))
    for i, expr in enumerate(("9**9**9", "Pow(9, Pow(9, 9))", "__import__('os').system('touch x')", "s0.__class__",
                              "(" * 80 + "s0" + ")" * 80, "1" * 60, "factorial(10**9)", "s0**1000000")):
        model_case(f"shape expression {expr[:24]}", "pt2", rewrite(f"expr-{i}", set_exprs(expr)), 2, "shape expression")
    model_case("an extra pickle member", "pt2", rewrite("extra-pickle", extra={"data/evil.pkl": b"\x80\x04N."}), 2,
               "contains")
    model_case("a compiled library member", "pt2", rewrite("extra-so", extra={"data/aotinductor/model.so": b"\x7fELF"}),
               2, "contains")
    marker = p2 / "marker-sample"
    buffer = io.BytesIO()
    torch.save({"x": MarkerPayload(marker)}, buffer)
    model_case("sample inputs are a malicious pickle", "pt2",
               rewrite("sample-pickle", edit_member=lambda n, d: buffer.getvalue() if "sample_inputs" in n else d),
               2, "pickle", marker)

    def use_pickle(name: str, data: bytes) -> bytes:
        if name.endswith("_weights_config.json"):
            config = json.loads(data)
            for entry in config.get("config", {}).values():
                entry["use_pickle"] = True
            return json.dumps(config).encode()
        return data

    model_case("weights stored as pickles", "pt2", rewrite("use-pickle", edit_member=use_pickle), 2, "pickled")
    trunc = p2 / "truncated.pt2"
    trunc.write_bytes(base.read_bytes()[:5000])
    _card(trunc, labels)
    model_case("a truncated .pt2", "pt2", trunc, 2)

    # ------------------------------------------------------------------ image
    im = root / "image"
    im.mkdir()
    from PIL import Image

    png = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(png, format="PNG")
    png = png.getvalue()
    jpeg = io.BytesIO()
    Image.new("RGB", (64, 64), (10, 200, 10)).save(jpeg, format="JPEG")
    jpeg = jpeg.getvalue()

    def image_case(name: str, path: Path, code=2, words="") -> None:
        cases.append(Case(name, "image", [*ATTACK, "--image", str(path)], code, words))

    bomb = bytearray(png)
    struct.pack_into(">II", bomb, 16, 100000, 100000)
    (im / "bomb.png").write_bytes(bytes(bomb))
    image_case("PNG header claims 100000x100000", im / "bomb.png", 2, "too large|corrupt")
    zero = bytearray(png)
    struct.pack_into(">II", zero, 16, 0, 0)
    (im / "zero.png").write_bytes(bytes(zero))
    image_case("PNG of 0x0 pixels", im / "zero.png", 2, "zero size|corrupt")
    for frac in (0.0, 0.3, 0.7):
        (im / f"trunc-{frac}.png").write_bytes(png[: int(len(png) * frac)])
        image_case(f"PNG truncated to {frac:.0%}", im / f"trunc-{frac}.png")
        (im / f"trunc-{frac}.jpg").write_bytes(jpeg[: int(len(jpeg) * frac)])
        image_case(f"JPEG truncated to {frac:.0%}", im / f"trunc-{frac}.jpg", (0, 2))
    (im / "garbage.png").write_bytes(os.urandom(2048))
    image_case("random bytes as PNG", im / "garbage.png")
    (im / "text.jpg").write_text("not an image")
    image_case("text as JPEG", im / "text.jpg")
    gif = io.BytesIO()
    Image.new("P", (4, 4)).save(gif, format="GIF")
    gif_bomb = bytearray(gif.getvalue())
    struct.pack_into("<HH", gif_bomb, 6, 65535, 65535)
    (im / "bomb.gif").write_bytes(bytes(gif_bomb))
    image_case("GIF screen 65535x65535", im / "bomb.gif", (0, 2))
    os.mkfifo(im / "fifo.png")
    image_case("a FIFO as image", im / "fifo.png", 2, "named pipe")
    image_case("a folder as image", im, 2, "folder")
    image_case("/dev/zero as image", Path("/dev/zero"), 2, "device")
    image_case("a missing image", im / "missing.png", 2, "no such file")
    (im / "link-to-fifo.png").symlink_to(im / "fifo.png")
    image_case("a symlink to a FIFO as image", im / "link-to-fifo.png", 2, "named pipe")
    sock_path = im / "socket.png"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(sock_path))
    server.close()
    image_case("a socket as image", sock_path, 2, "socket")

    # ------------------------------------------------------------------ special files as model, card, labels
    sp = root / "special"
    sp.mkdir()
    os.mkfifo(sp / "fifo.pt")
    model_case("a FIFO as model", "special", sp / "fifo.pt", 2, "named pipe")
    model_case("/dev/zero as model", "special", Path("/dev/zero"), 2, "device")
    model_case("a folder as model", "special", sp, 2, "folder")
    sm = sp / "sock.pt"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(sm))
    server.close()
    model_case("a socket as model", "special", sm, 2, "socket")
    fifo_card = sp / "fifo-card.json"
    os.mkfifo(fifo_card)
    cases.append(Case("a FIFO as --card", "special", [*ATTACK, "--model", str(weights), "--card", str(fifo_card)], 2,
                      "named pipe"))
    cases.append(Case("/dev/zero as --card", "special", [*ATTACK, "--model", str(weights), "--card", "/dev/zero"], 2,
                      "device"))
    card_dir = sp / "cards"
    card_dir.mkdir()
    cases.append(Case("a folder as --card", "special", [*ATTACK, "--model", str(weights), "--card", str(card_dir)], 2,
                      "folder"))

    # ------------------------------------------------------------------ labels
    lb = root / "labels"
    lb.mkdir()

    def labels_case(name: str, value: str, words: str, prepare=None) -> None:
        folder = lb / name.replace(" ", "-").replace("/", "_")
        folder.mkdir()
        model = folder / "m.safetensors"
        shutil.copy(weights, model)
        if prepare:
            prepare(folder)
        (folder / "m.json").write_text(json.dumps({"name": "m", "labels": value, "architecture": "advlens.shapes_cnn"}))
        cases.append(Case(f"labels {name}", "labels", [*ATTACK, "--model", str(model)], 2, words))

    labels_case("../../../etc/passwd", "../../../etc/passwd", "inside the card's folder")
    labels_case("absolute /etc/passwd", "/etc/passwd", "inside the card's folder")
    labels_case("/dev/zero", "/dev/zero", "inside the card's folder")
    labels_case("symlink out of the folder", "out.txt", "inside the card's folder",
                lambda f: (f / "out.txt").symlink_to("/etc/passwd"))
    labels_case("a FIFO in the folder", "fifo.txt", "named pipe", lambda f: os.mkfifo(f / "fifo.txt"))
    labels_case("a folder in the folder", "sub", "folder", lambda f: (f / "sub").mkdir())
    labels_case("a 10 MB file", "big.txt", "MB", lambda f: (f / "big.txt").write_bytes(b"x\n" * (5 << 20)))
    labels_case("missing", "nowhere.txt", "no such file")
    labels_case("not UTF-8", "latin.txt", "UTF-8", lambda f: (f / "latin.txt").write_bytes(b"\xff\xfe\x00bad" * 10))

    # ------------------------------------------------------------------ card
    cd = root / "card"
    cd.mkdir()

    def card_case(name: str, fields: dict | str, words: str, suffix: str = ".json", code=2) -> None:
        folder = cd / f"c{len(cases)}"
        folder.mkdir()
        model = folder / "m.safetensors"
        shutil.copy(weights, model)
        text = fields if isinstance(fields, str) else json.dumps(
            {"name": "m", "labels": labels, "architecture": "advlens.shapes_cnn", **fields})
        (folder / f"m{suffix}").write_text(text)
        cases.append(Case(f"card {name}", "card", [*ATTACK, "--model", str(model)], code, words))

    card_case("num_classes -1", {"labels": None, "num_classes": -1}, "num_classes")
    card_case("num_classes 0", {"labels": None, "num_classes": 0}, "num_classes")
    card_case("num_classes 10**12", {"labels": None, "num_classes": 10**12}, "num_classes")
    card_case("num_classes '9'", {"labels": None, "num_classes": "9"}, "num_classes")
    card_case("num_classes true", {"labels": None, "num_classes": True}, "num_classes")
    card_case("std 1e-300", {"std": [1e-300, 1, 1]}, "std")
    card_case("std 0", {"std": [0, 1, 1]}, "std")
    card_case("std -1", {"std": [-1, 1, 1]}, "std")
    head = f'{{"name":"m","labels":{json.dumps(labels)},"architecture":"advlens.shapes_cnn",'
    card_case("mean NaN", head + '"mean":[NaN,0,0]}', "mean")
    card_case("mean Infinity", head + '"mean":[Infinity,0,0]}', "mean")
    card_case("std 1e999", head + '"std":[1e999,1,1]}', "std")
    card_case("mean of 5 channels", {"mean": [0] * 5, "std": [1] * 5}, "mean")
    card_case("mean and std of different lengths", {"mean": [0, 0, 0], "std": [1]}, "std")
    card_case("labels empty", {"labels": []}, "labels")
    card_case("labels numbers", {"labels": [1, 2, 3]}, "labels")
    card_case("input_size -1", {"input_size": -1}, "input_size")
    card_case("input_size 10**9", {"input_size": 10**9}, "input_size")
    card_case("input_size true", {"input_size": True}, "input_size")
    card_case("not JSON", "{name: m", "cannot read model card")
    card_case("a JSON list", "[1, 2, 3]", "must be an object")
    card_case("TOML broken", 'name = "m"\nlabels = [', "cannot read model card", suffix=".toml")
    card_case("deeply nested JSON", "[" * 100000 + "]" * 100000, "cannot read model card|must be an object")
    card_case("train_sizes text", {"train_sizes": "all"}, "train_sizes")
    card_case("architecture_args a list", {"architecture_args": [1]}, "architecture_args")

    # ------------------------------------------------------------------ record
    rc = root / "record"
    rc.mkdir()
    from advlens.engine import AttackConfig, RunConfig, run_attack
    from advlens.engine.runs import report_html

    record = run_attack(RunConfig(image="sample:star", resolution=16, device="cpu", attack=AttackConfig(steps=3)))
    base_record = record.save(rc / "base")
    base_json = json.loads((base_record / "record.json").read_text())

    def tampered(name: str, edit=None, edit_files=None) -> Path:
        folder = rc / name
        shutil.copytree(base_record, folder)
        if edit:
            data = json.loads(json.dumps(base_json))
            edit(data)
            (folder / "record.json").write_text(json.dumps(data))
        if edit_files:
            edit_files(folder)
        return folder

    def record_case(name: str, folder: Path, words: str = "record", verbs=("show", "report")) -> None:
        for verb in verbs:
            args = ["runs", verb, str(folder)] + (["--out", str(rc / f"{folder.name}.html")] if verb == "report" else [])
            cases.append(Case(f"record {name} ({verb})", "record", args, 2, words))

    def setter(path: str, value):
        def edit(data):
            where = data
            *parents, key = path.split(".")
            for parent in parents:
                where = where[parent]
            where[key] = value
        return edit

    for i, (path, value) in enumerate([
            ("labels", []), ("labels", [10**30]), ("clean_conf", "high"), ("success", [1]), ("class_names", []),
            ("norms", {"l2": [0.1]}), ("status", "<b>"), ("steps_run", -1), ("format_version", 99),
            ("format_version", "1"), ("config", []), ("config.attack.seed", 2**70), ("config.attack.eps", -1),
            ("config.attack.norm", "l7"), ("config.resolution", 10**9), ("config.unknown", 1), ("versions", [1]),
            ("duration_s", "fast")]):
        record_case(f"{path}={str(value)[:16]}", tampered(f"t{i}", setter(path, value)))

    def npz_header(shape, dtype="<f4", member="original.npy"):
        def edit(folder):
            with zipfile.ZipFile(folder / "arrays.npz") as old:
                members = {n: old.read(n) for n in old.namelist()}
            import numpy as np

            head = io.BytesIO()
            np.lib.format.write_array_header_1_0(head, {"descr": dtype, "fortran_order": False, "shape": shape})
            members[member] = head.getvalue()
            with zipfile.ZipFile(folder / "arrays.npz", "w") as new:
                for n, d in members.items():
                    new.writestr(n, d)
        return edit

    record_case("array header of 1 TiB", tampered("tib", edit_files=npz_header((1, 4, 2**18, 2**18))), "shape|GiB",
                verbs=("show",))
    record_case("array header with no data", tampered("nodata", edit_files=npz_header((1, 3, 16, 16))), "truncated",
                verbs=("show",))
    record_case("object array", tampered("object", edit_files=npz_header((3, 1), "|O", "metric_loss.npy")),
                "floating|corrupt", verbs=("show",))
    record_case("arrays.npz truncated", tampered("trunc", edit_files=lambda f: (f / "arrays.npz").write_bytes(
        (base_record / "arrays.npz").read_bytes()[:300])), "corrupt|arrays", verbs=("show",))
    record_case("arrays.npz missing", tampered("noarrays", edit_files=lambda f: (f / "arrays.npz").unlink()),
                "arrays.npz", verbs=("show",))
    record_case("record.json not JSON", tampered("notjson", edit_files=lambda f: (f / "record.json").write_text("{")),
                "JSON", verbs=("show",))

    def fifo_json(folder):
        (folder / "record.json").unlink()
        os.mkfifo(folder / "record.json")

    record_case("record.json a FIFO", tampered("fifo", edit_files=fifo_json), "named pipe", verbs=("show",))

    def zero_json(folder):
        (folder / "record.json").unlink()
        (folder / "record.json").symlink_to("/dev/zero")

    record_case("record.json a link to /dev/zero", tampered("zero", edit_files=zero_json), "device", verbs=("show",))
    record_case("a folder that is not a record", cr, "no record.json", verbs=("show",))
    cases.append(Case("record folder is a FIFO", "record", ["runs", "show", str(sp / "fifo.pt")], 2, "not a run record"))

    # markup in a record: the report must show it as text
    evil = "<script>alert(1)</script>"
    marked = tampered("markup", lambda d: (d.update(model_name=evil, device=evil, created=evil, class_names=[evil] * len(
        d["class_names"]), versions={evil: evil}), d["config"].update(model=evil, image=evil, device=evil)))
    html_out = rc / "markup.html"

    def no_script() -> str | None:
        text = html_out.read_text() if html_out.exists() else ""
        return None if text and "<script>" not in text and "&lt;script&gt;" in text else "markup reached the HTML"

    cases.append(Case("report of a record full of markup", "report", ["runs", "report", str(marked), "--out",
                                                                     str(html_out)], 0, check=no_script))
    assert "<script>" not in report_html(record)

    # ------------------------------------------------------------------ --out
    out = root / "out"
    out.mkdir()
    photos = out / "photos"
    photos.mkdir()
    (photos / "holiday.jpg").write_bytes(b"precious")
    notes = out / "notes.txt"
    notes.write_text("keep")
    keep = {photos / "holiday.jpg": b"precious", notes: b"keep"}
    run = ["attack", "--steps", "1", "--resolution", "16", "--device", "cpu"]
    cases.append(Case("--out over a folder of photos", "out", [*run, "--out", str(photos)], 2, "not a run record",
                      keep=keep))
    cases.append(Case("--out over a file", "out", [*run, "--out", str(notes)], 2, "not a folder", keep=keep))
    cases.append(Case("--out .", "out", [*run, "--out", "."], 2, "current folder"))
    cases.append(Case("--out /", "out", [*run, "--out", "/"], 2, "current folder"))
    cases.append(Case("--out .. with --force", "out", [*run, "--out", "..", "--force"], 2, "current folder"))
    fresh = out / "fresh"
    cases.append(Case("--out a new folder", "out", [*run, "--out", str(fresh)], 0,
                      check=lambda: None if (fresh / "record.json").is_file() else "no record written"))
    cases.append(Case("--out over an old record", "out", [*run, "--out", str(fresh), "--seed", "5"], 0,
                      check=lambda: None if '"seed": 5' in (fresh / "record.json").read_text() else "not replaced"))
    forced = out / "forced"
    forced.mkdir()
    (forced / "x.txt").write_text("x")
    cases.append(Case("--out over a folder with --force", "out", [*run, "--out", str(forced), "--force"], 0,
                      check=lambda: None if (forced / "record.json").is_file() and not (forced / "x.txt").exists()
                      else "not replaced"))
    cases.append(Case("runs replay --out over photos", "out", ["runs", "replay", str(base_record), "--out",
                                                               str(photos)], 2, "not a run record", keep=keep))

    # ------------------------------------------------------------------ arguments
    def arg_case(name: str, extra: list[str], words: str = "", code=2, base_args=None) -> None:
        cases.append(Case(name, "args", [*(base_args or ATTACK), *extra], code, words))

    for seed in (str(2**64), "-1", "1e3", "abc", str(10**40)):
        arg_case(f"--seed {seed[:12]}", ["--seed", seed], "seed")
    for device in ("meta", "xpu", "ipu", "cuda:99", "banana", "cpu:0:1"):
        arg_case(f"--device {device!r}", ["--device", device], "device|CUDA")
    arg_case("--device '' (means auto)", ["--device", ""], code=0)
    for eps in ("nan", "inf", "-1", "1/0", "2", "abc"):
        arg_case(f"--eps {eps}", ["--eps", eps], "number|budget|epsilon|eps")
    for steps in ("0", "-5", "abc"):
        arg_case(f"--steps {steps}", ["--steps", steps], "steps|invalid")
    for res in ("5000", "abc", "-3", "3"):
        arg_case(f"--resolution {res}", ["--resolution", res], "resolution|pixels")
    arg_case("--resolution 0 (means native)", ["--resolution", "0"], code=0)
    arg_case("--target 999", ["--target", "999"], "target|class")
    arg_case("--target -1", ["--target", "-1"], "target")
    arg_case("--label 999", ["--label", "999"], "label|class")
    arg_case("--attack nosuch", ["--attack", "nosuch"], "unknown attack")
    arg_case("--norm l7", ["--norm", "l7"], "invalid choice")
    arg_case("--param nonsense", ["--param", "nonsense"], "NAME=VALUE")
    arg_case("--param decay=1 for pgd", ["--param", "decay=1"], "no setting")
    arg_case("--restarts 0", ["--restarts", "0"], "restarts")
    arg_case("--filter magic", ["--filter", "magic"], "filter")
    arg_case("--model nosuch", ["--model", "nosuch"], "no model")
    arg_case("--image sample:nosuch", ["--image", "sample:nosuch"], "sample")
    arg_case("--card missing", ["--model", str(weights), "--card", str(root / "nope.json")], "no model card")
    arg_case("runs show missing", [], "no such folder", base_args=["runs", "show", str(root / "nowhere")])
    arg_case("runs list on a file", [], "not a folder", base_args=["runs", "list", "--dir", str(notes)])
    return cases
