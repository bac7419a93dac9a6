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
    assert cli_main(args) == 0
    out = capsys.readouterr().out
    assert "fixed ρ" in out and "zigzag" in out and "departs from the paper" in out


def _exit_code(argv: list[str]) -> int:
    try:
        return cli_main(argv)
    except SystemExit as exc:  # argparse's own refusals
        return int(exc.code)


@pytest.mark.parametrize("bad", [["--norm", "l3"], ["--stripes", "1,2"], ["--dims", "x"], ["--seeds", "0"]])
def test_cli_bad_input_is_one_line_and_exit_2(capsys, bad):
    assert _exit_code(["stability", *bad]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error" in err


