"""`advlens stability`: the table, JSON, and one-line refusals."""

from __future__ import annotations

import json

import pytest

from advlens.cli import main as cli_main


def test_cli_prints_the_table_and_json(capsys):
    args = ["stability", "--stripes", "2,4", "--dims", "2", "--train", "100", "--test", "60", "--seeds", "1",
            "--steps", "30", "--attack-points", "8"]
    assert cli_main([*args, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [r["stripes"] for r in data["rows"]] == [2, 4]
    assert data["rows"][0]["zigzag"]["test_accuracy"] == 1.0
    assert data["verdict"] in ("agrees-unstable", "agrees-inaccurate", "disagrees", "inconclusive")
    assert set(data["rows"][0]["fixed_counts"]) == {"accurate & stable", "accurate & unstable", "inaccurate"}
    assert cli_main(args) == 0
    out = capsys.readouterr().out
    assert "fixed ρ" in out and "zigzag" in out and "departs from the paper" in out
    assert out.splitlines()[1].startswith(("Agrees", "Disagrees", "Inconclusive"))  # the verdict leads
    assert "fixed AS/AU/I" in out and "accurate & stable / accurate & unstable / inaccurate" in out
    points = ["stability", "--sweep", "points", "--points", "60,120", "--points-stripes", "2", "--dims", "2",
              "--test", "60", "--seeds", "1", "--steps", "30", "--attack-points", "8", "--json"]
    assert cli_main(points) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [(r["stripes"], r["train_points"]) for r in rows] == [(2, 60), (2, 120)]


def _exit_code(argv: list[str]) -> int:
    try:
        return cli_main(argv)
    except SystemExit as exc:  # argparse's own refusals
        return int(exc.code)


@pytest.mark.parametrize("bad", [["--norm", "l3"], ["--stripes", "1,2"], ["--dims", "x"], ["--seeds", "0"],
                                 ["--sweep", "n"], ["--points", "2,x"]])
def test_cli_bad_input_is_one_line_and_exit_2(capsys, bad):
    assert _exit_code(["stability", *bad]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error" in err


