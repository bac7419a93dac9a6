"""The torch-free base layer: the GUI process imports errors, units, config, the attack catalogue and the
metric names without torch, and the catalogue checks a config the way every run is checked."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from advlens.engine.catalogue import SPECS, AttackKind, attack_spec, check_attack, planned_steps
from advlens.engine.config import AttackConfig
from advlens.engine.errors import ConfigError
from advlens.engine.units import (
    format_budget,
    format_norm,
    grey_levels,
    linf_text,
    parse_budget,
    parse_eps_range,
)

BASE = ("errors", "units", "config", "catalogue", "metrics", "paths")
# The labs' configs and results cross to the GUI process pickled: importing them loads no torch (the Resolution
# lab's config asks the model registry for the control models only when `with_control_models` is called).
LAB_RESULTS = ("labs.resolution_config", "labs.resolution_results", "labs.readings", "labs.slopes",
               "labs.stability_config", "labs.stability_results", "labs.stability_text")
# the Analysis tab builds its requests in the GUI process (an analysis request carries its diagnostics options)
REQUESTS = ("analysis.requests", "diagnostics.options")


def test_the_base_layer_imports_without_torch():
    code = textwrap.dedent(f"""
        import sys
        for name in {BASE + LAB_RESULTS + REQUESTS!r}:
            __import__('advlens.engine.' + name)
        from advlens.engine import AttackConfig, ConfigError, attack_names, parse_budget
        print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'PySide6', 'pyqtgraph')))
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_every_attack_class_points_at_its_catalogue_entry():
    from advlens.engine.attacks import ATTACKS

    assert list(ATTACKS) == list(SPECS)
    assert all(cls.spec is SPECS[name] for name, cls in ATTACKS.items())


def test_the_kind_is_an_enum_and_checks_normalise_the_config():
    assert attack_spec("FMN").kind is AttackKind.MINIMAL_NORM and attack_spec("pgd").kind is AttackKind.FIXED_BUDGET
    assert attack_spec("square").black_box and not attack_spec("pgd").black_box
    checked = check_attack(AttackConfig(attack="PGD", norm="Linf", steps=3.0, params={"l1_fraction": 0.5}))
    assert (checked.attack, checked.norm, checked.steps) == ("pgd", "linf", 3)
    with pytest.raises(ConfigError, match="supports"):
        check_attack(AttackConfig(attack="cw", norm="linf"))
    with pytest.raises(ConfigError, match="untargeted only"):
        check_attack(AttackConfig(attack="deepfool", norm="l2", target=1))
    with pytest.raises(ConfigError, match="no setting"):
        check_attack(AttackConfig(params={"nope": 1}))
    assert planned_steps(AttackConfig(attack="cw", norm="l2", steps=20, restarts=2)) == 20 * 5 * 2
    assert planned_steps(AttackConfig(attack="fgsm", steps=20)) == 1


def test_budgets_parse_and_format_in_the_units_people_use():
    assert parse_budget("8/255") == pytest.approx(8 / 255)
    assert format_budget(8 / 255, "linf") == "8/255" and format_budget(0.5, "l2") == "0.5"
    assert format_norm(8 / 255, "linf") == "0.0314 (8.00/255)"
    assert linf_text(2 / 255) == "2.00/255" and grey_levels(np.array([1 / 255, 0.5])) == pytest.approx([1, 127.5])
    assert parse_eps_range("0:2:1/255") == pytest.approx([0, 1 / 255, 2 / 255])
    for bad in ("-1", "x", "1/0"):
        with pytest.raises(ConfigError):
            parse_budget(bad)
    with pytest.raises(ConfigError):
        parse_eps_range("0:1:1/0")


def test_the_models_input_size_decides_the_resolution_for_the_api(demo_model):
    """A library user's RunConfig defaults to 64 px; a 32 px model still gets 32 px images, with a note."""
    from dataclasses import replace

    from advlens.engine.config import RunConfig
    from advlens.engine.model import Model
    from advlens.engine.session import prepare_job

    fixed = Model(demo_model.network, replace(demo_model.card, input_size=32, name="fixed32"))
    job = prepare_job(RunConfig(device="cpu", attack=AttackConfig(steps=1)), model=fixed)
    assert tuple(job.images.shape[-2:]) == (32, 32) and job.config.resolution == 32
    assert any("takes 32x32 images" in note for note in job.notes)
    assert prepare_job(RunConfig(device="cpu", attack=AttackConfig(steps=1)), model=demo_model).notes == []
