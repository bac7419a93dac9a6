"""Run history in the engine: listing a runs folder, comparing two records, replaying one, the HTML report."""

from __future__ import annotations

import base64
import io
import json
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import numpy as np
import pytest
from PIL import Image

from advlens.engine import AttackConfig, RunConfig, RunRecord, run_attack
from advlens.engine.record import RecordError
from advlens.engine.runs import (
    compare_records,
    config_differences,
    list_runs,
    load_record,
    replay_record,
    report_html,
    write_report,
)


def _record(model, eps=8 / 255, seed=1, image="sample:star"):
    return run_attack(RunConfig(image=image, resolution=32, device="cpu",
                                attack=AttackConfig(steps=4, eps=eps, seed=seed)),
                      model=model)


@pytest.fixture(scope="module")
def saved(demo_model, tmp_path_factory):
    """Two saved records that differ only in eps, in one runs folder."""
    folder = tmp_path_factory.mktemp("runs")
    a = _record(demo_model)
    a.created = "2025-01-01T10:00:00+00:00"
    b = _record(demo_model, eps=2 / 255)
    b.created = "2025-01-02T10:00:00+00:00"
    return folder, a.save(folder / "20250101-a-pgd"), b.save(folder / "20250102-b-pgd")


def test_a_saved_record_replays_identically(saved):
    _, path_a, _ = saved
    record = load_record(path_a)
    result = replay_record(record)  # loads the model named in the record, rebuilds the image from its config
    assert result.identical, result.differences
    assert result.differences == [] and result.max_abs_diff <= 1e-5
    np.testing.assert_allclose(result.replayed.adversarial, record.adversarial, atol=1e-5, rtol=0)
    assert result.replayed.config.attack == record.config.attack
    assert "identical" in result.verdict()


def test_a_replay_that_does_not_match_says_what_differs(saved, demo_model, tmp_path):
    _, path_a, _ = saved
    record = load_record(path_a)
    record.adversarial = record.adversarial.copy()
    record.adversarial[0, 0, :4, :4] += 0.01  # as if the record came from another run
    record.adv_pred = [(record.adv_pred[0] + 1) % len(record.class_names)]
    result = replay_record(record, model=demo_model)
    assert not result.identical
    text = " ".join(result.differences)
    assert "adversarial images differ: 16 of" in text
    assert "adversarial prediction differs" in text
    assert result.verdict().startswith("DIFFERS")


def test_a_record_whose_image_is_gone_replays_on_its_stored_input(demo_model, tmp_path):
    image = tmp_path / "photo.png"
    Image.fromarray((np.random.default_rng(0).random((40, 40, 3)) * 255).astype(np.uint8)).save(image)
    record = _record(demo_model, image=str(image))
    image.unlink()
    result = replay_record(record, model=demo_model)
    assert result.identical, result.differences
    assert "cannot be loaded now" in result.notes[0]


def test_compare_lists_eps_among_the_differences(saved):
    _, path_a, path_b = saved
    comparison = compare_records(load_record(path_a), load_record(path_b), path_a, path_b)
    fields = {name: (a, b) for name, a, b in comparison.differences}
    assert fields["attack.eps"] == (pytest.approx(8 / 255), pytest.approx(2 / 255))
    assert set(fields) == {"attack.eps"}
    outcome = {name: (a, b) for name, a, b in comparison.outcome}
    assert outcome["Linf"][0].endswith("(8.00/255)") and outcome["Linf"][1].endswith("(2.00/255)")
    loss_a, loss_b = comparison.series["loss"]
    assert len(loss_a) == len(loss_b) == 5  # the start point and one per step
    assert not np.array_equal(loss_a, loss_b)
    json.dumps(comparison.to_dict())  # JSON-ready


def test_config_differences_name_nested_fields():
    a = RunConfig(attack=AttackConfig(eps=0.1, params={"kappa": 1.0}))
    b = RunConfig(image="sample:ring", attack=AttackConfig(eps=0.1, params={}))
    rows = config_differences(a, b)
    assert ("image", "sample:star", "sample:ring") in rows
    assert any(name.startswith("attack.params") for name, _, _ in rows)
    assert config_differences(a, a) == []


def test_list_is_newest_first_and_skips_what_is_not_a_record(saved):
    folder, path_a, path_b = saved
    (folder / "notes").mkdir(exist_ok=True)
    (folder / ".half-written.tmp").mkdir(exist_ok=True)
    (folder / ".half-written.tmp" / "record.json").write_text("{")
    summaries = list_runs(folder)
    assert [s.path for s in summaries] == [path_b, path_a]
    line = summaries[1].line()
    assert "pgd linf eps=8/255" in line and str(path_a) in line
    assert "SUCCESS" in line or "failed" in line


def test_an_unreadable_record_is_listed_as_such(tmp_path):
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "record.json").write_text("not json")
    [summary] = list_runs(tmp_path)
    assert summary.error and "unreadable" in summary.line()


@pytest.mark.parametrize("make, message", [
    (lambda p: p / "missing", "no such folder"),
    (lambda p: p, "it has no record.json"),
])
def test_a_folder_that_is_not_a_record_gets_one_message(tmp_path, make, message):
    with pytest.raises(RecordError, match=message):
        load_record(make(tmp_path))


def test_a_corrupt_record_json_is_a_record_error(saved, tmp_path):
    _, path_a, _ = saved
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "record.json").write_text(json.dumps({"config": {"attack": {}}}))  # fields missing
    (broken / "arrays.npz").write_bytes((path_a / "arrays.npz").read_bytes())
    with pytest.raises(RecordError, match="not a readable run record"):
        RunRecord.load(broken)
    with pytest.raises(RecordError):
        list_runs(tmp_path / "nowhere")


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images: list[str] = []
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "img":
            self.images.append(dict(attrs)["src"])

    def handle_data(self, data):
        self.text.append(data)


def test_the_report_is_one_self_contained_html_file_with_the_images(saved, tmp_path):
    _, path_a, _ = saved
    record = load_record(path_a)
    out = write_report(record, tmp_path / "report.html", source=path_a)
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    parser = _Collector()
    parser.feed(text)
    assert len(parser.images) == 3
    decoded = []
    for src in parser.images:
        assert src.startswith("data:image/png;base64,")
        decoded.append(np.asarray(Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1])))))
    assert decoded[0].shape == (32, 32, 3)
    expected = np.clip(record.adversarial[0].transpose(1, 2, 0) * 255 + 0.5, 0, 255).astype(np.uint8)
    np.testing.assert_array_equal(decoded[1], expected)
    body = " ".join(parser.text)
    assert "attack.eps" in body and "attack.seed" in body and "Linf" in body
    assert parser.tags.count("svg") == 3 and parser.tags.count("polyline") >= 4
    for svg in text.split("<svg")[1:]:
        ET.fromstring("<svg" + svg.split("</svg>")[0] + "</svg>")  # each plot is well-formed SVG
    assert "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")  # nothing fetched
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]  # no temp file left


def test_the_report_escapes_what_the_record_says(demo_model):
    record = _record(demo_model)
    record.config.image = "<script>alert(1)</script>.png"
    assert "<script>" not in report_html(record)


def test_a_replay_compares_every_steps_metrics_and_the_norms_both_runs_took(demo_model):
    import copy

    from advlens.engine import execute, prepare_job
    from advlens.engine.runs import replay_differences
    from advlens.engine.telemetry import Telemetry

    def run(interval):
        config = RunConfig(image="sample:star", resolution=24, attack=AttackConfig(steps=6, seed=2))
        return execute(prepare_job(config, model=demo_model), Telemetry(frame_interval_s=interval))

    every, sparse = run(0), run(3600)  # frames on every step / on the first and the last only
    assert replay_differences(every, sparse)[0] == []
    elsewhere = copy.deepcopy(every)
    elsewhere.metrics["l2"][3] += 1  # a step the sparse run has no norm for: nothing to compare
    assert replay_differences(elsewhere, sparse)[0] == []
    both = copy.deepcopy(every)
    both.metrics["l2"][-1] += 1
    assert replay_differences(both, sparse)[0] == ["the per-step l2 differs from step 6"]
    loss = copy.deepcopy(sparse)
    loss.metrics["loss"][2] += 1  # every step's metrics are compared on every step
    assert replay_differences(every, loss)[0] == ["the per-step loss differs from step 2"]
