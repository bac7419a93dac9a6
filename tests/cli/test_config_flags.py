"""`advlens attack`'s flags are generated from RunConfig/AttackConfig: --config and --print-config
round-trip the JSON the app and the run records use."""

import json
from dataclasses import fields

import pytest

from advlens.cli import build_parser
from advlens.cli import main as cli_main
from advlens.engine.config import AttackConfig, RunConfig, described_fields


def _config_json(argv, capsys) -> dict:
    assert cli_main(["attack", *argv, "--print-config"]) == 0
    return json.loads(capsys.readouterr().out)


def test_print_config_shows_the_defaults(capsys):
    assert _config_json([], capsys) == RunConfig().to_dict()


def test_config_file_and_flags_round_trip(tmp_path, capsys):
    flags = ["--eps", "4/255", "--norm", "l2", "--steps", "7", "--no-random-start", "--early-stop", "--target", "3",
             "--seed", "11", "--restarts", "2", "--param", "l1_fraction=0.2", "--resolution", "native",
             "--filter", "bicubic", "--image", "sample:heart", "--device", "cpu"]
    first = _config_json(flags, capsys)
    expected = RunConfig(image="sample:heart", resolution=None, resample_filter="bicubic", device="cpu",
                         attack=AttackConfig(norm="l2", eps=4 / 255, steps=7, random_start=False, early_stop=True,
                                             target=3, seed=11, restarts=2, params={"l1_fraction": 0.2}))
    assert RunConfig.from_dict(first) == expected
    path = tmp_path / "run.json"
    path.write_text(json.dumps(first))
    assert _config_json(["--config", str(path)], capsys) == first
    changed = _config_json(["--config", str(path), "--steps", "9"], capsys)
    assert changed["attack"]["steps"] == 9 and {**changed, "attack": {**changed["attack"], "steps": 7}} == first


def test_each_attack_starts_at_its_own_default_steps_unless_told(tmp_path, capsys):
    from advlens.engine.catalogue import attack_spec

    assert attack_spec("cw").default_steps > attack_spec("pgd").default_steps == AttackConfig().steps
    for name in ("pgd", "cw", "fmn", "deepfool"):
        norm = "l2" if name == "cw" else "linf"
        shown = _config_json(["--attack", name, "--norm", norm], capsys)
        assert shown["attack"]["steps"] == attack_spec(name).default_steps
        assert _config_json(["--attack", name, "--norm", norm, "--steps", "7"], capsys)["attack"]["steps"] == 7
    path = tmp_path / "run.json"  # a saved configuration keeps its steps whatever the attack
    path.write_text(RunConfig(attack=AttackConfig(attack="cw", norm="l2", steps=3)).to_json())
    assert _config_json(["--config", str(path)], capsys)["attack"]["steps"] == 3
    assert _config_json(["--config", str(path), "--attack", "fmn"], capsys)["attack"]["steps"] == 3


def test_every_setting_is_described_and_has_a_flag():
    subcommands = next(a for a in build_parser()._actions if a.dest == "command").choices
    dests = {action.dest for action in subcommands["attack"]._actions}
    assert {f.name for f in described_fields(AttackConfig)} == {f.name for f in fields(AttackConfig)}
    assert {f.name for f in described_fields(RunConfig)} == {f.name for f in fields(RunConfig)} - {"attack"}
    for cls in (RunConfig, AttackConfig):
        assert {f.name for f in described_fields(cls)} <= dests


@pytest.mark.parametrize("bad", [["--seed", "99999999999999999999"], ["--seed", "-1"], ["--resolution", "2"],
                                 ["--steps", "0"], ["--eps", "x"], ["--param", "nonsense"], ["--norm", "l3"]])
def test_bad_flags_are_one_line_and_exit_2(capsys, bad):
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["attack", *bad, "--print-config"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error" in err


def test_a_broken_config_file_is_one_line(tmp_path, capsys):
    path = tmp_path / "run.json"
    path.write_text("{not json")
    assert cli_main(["attack", "--config", str(path), "--print-config"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert cli_main(["attack", "--config", str(tmp_path / "missing.json"), "--print-config"]) == 2
