"""The Stability lab's engine: data with a certified margin, the stable constructions, the exact scan,
the interval bound, the three classes and the verdict (which must follow the evidence), training to a
plateau, and whole (tiny) runs of both sweeps."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from advlens.engine.errors import Cancelled, ConfigError
from advlens.engine.jobs import Progress
from advlens.engine.labs.stability import (
    SettingJob,
    StabilityConfig,
    StabilitySnapshot,
    edge_distance,
    make_stripes,
    parse_int_list,
    run_setting,
    run_stability_lab,
    setting_data,
    summarise,
    verdict,
    wide_width,
)
from advlens.engine.labs.stability_measure import measure_distances, measure_network
from advlens.engine.labs.stability_nets import (
    NearestNeighbourNet,
    ReluNet,
    ZigzagNet,
    ibp_certified_radius,
    predict,
)
from advlens.engine.labs.stability_results import ACCURATE_STABLE, ACCURATE_UNSTABLE, INACCURATE
from advlens.engine.labs.stability_training import Plateau, TrainingCurve, torch_threads, train_mlps


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread, as the lab itself uses (two threads on tiny tensors mostly wait for each other)."""
    with torch_threads(1):
        yield

TINY = dict(train_points=120, test_points=80, seeds=2, train_steps=40, batch=64, attack_points=12, pgd_steps=5,
            searches=4, log_every=10)


@pytest.mark.parametrize(("stripes", "dim"), [(2, 1), (5, 2), (16, 3)])
def test_stripes_are_separated_by_the_stated_margin(stripes, dim):
    data = make_stripes(stripes, dim, 600, torch.Generator().manual_seed(stripes))
    x = data.x.double()
    assert data.margin == pytest.approx(0.1 / stripes)
    assert torch.equal(data.y, torch.floor(x[:, 0] * stripes).long() % 2)
    ones, zeros = x[data.y == 1], x[data.y == 0]
    assert len(ones) and len(zeros)
    for p in (2.0, math.inf):  # exact nearest distance between the classes, every pair
        nearest = torch.cdist(ones, zeros, p=p).min()
        assert nearest >= data.separation - 1e-12
    # every point is at least delta from the nearest edge j/K, checked against all edges by brute force
    edges = torch.arange(1, stripes, dtype=torch.float64) / stripes
    if len(edges):
        to_edges = (x[:, :1] - edges[None, :]).abs().amin(1)
        assert to_edges.min() >= data.margin - 1e-12
        assert to_edges.min() < 1.5 * data.margin  # and the margin is not vacuous: points come close to it
        torch.testing.assert_close(edge_distance(x[:, 0], stripes), to_edges)


def test_zigzag_classifies_by_stripes_and_its_distances_match_its_proof():
    stripes, dim = 6, 3
    data = make_stripes(stripes, dim, 300, torch.Generator().manual_seed(1))
    zig = ZigzagNet(dim, stripes, data.margin).double()
    x = data.x.double()
    assert torch.equal(predict(zig, x), data.y)
    assert zig.hidden == [stripes - 1, stripes - 1]
    dist = measure_distances(zig, x[:60], torch.Generator().manual_seed(0), pgd_steps=10, searches=6)
    proven = dist.proven
    assert (proven >= data.margin - 1e-12).all()
    for measured in (dist.scan, dist.l2, dist.linf):  # no attack gets under the proven radius
        assert (measured >= proven - 1e-9).all()
    np.testing.assert_allclose(dist.scan, proven, atol=1e-8)  # the e1 scan finds the edge exactly
    assert (dist.certified <= proven + 1e-9).all() and (dist.certified >= proven - data.margin / 2 - 1e-9).all()


def test_nearest_neighbour_net_is_1nn_and_no_attack_beats_its_certified_radius():
    gen = torch.Generator().manual_seed(3)
    train = make_stripes(4, 2, 150, gen)
    queries = torch.rand(400, 2, generator=gen, dtype=torch.float64)
    net = NearestNeighbourNet(train.x.double(), train.y)
    brute = train.y[torch.cdist(queries, train.x.double()).argmin(1)]
    assert torch.equal(predict(net, queries), brute)
    dist = measure_distances(net, queries[:50], torch.Generator().manual_seed(0), pgd_steps=10, searches=6)
    assert (dist.proven > 0).all()
    assert (dist.l2 >= dist.proven - 1e-9).all()
    assert (dist.scan >= dist.proven - 1e-9).all()
    linf_proven = net.proven_radius(queries[:50], "linf").numpy()
    assert (dist.linf >= linf_proven - 1e-9).all()


def _grid_first_flip(net, x, direction, step=1e-4):
    t = torch.arange(0, 1 + step, step, dtype=torch.float64)
    line = x[None, :].repeat(len(t), 1)
    line[:, 0] = line[:, 0] + direction * t
    inside = (line[:, 0] >= 0) & (line[:, 0] <= 1)
    cls = predict(net, line[inside])
    flips = (cls != cls[0]).nonzero()
    return float(t[inside][flips[0, 0]]) if len(flips) else math.inf


@pytest.mark.parametrize("make", [lambda g: ReluNet(2, [16, 16], g), lambda g: ReluNet(3, [8, 8, 8], g)])
def test_exact_line_scan_agrees_with_a_fine_grid(make):
    gen = torch.Generator().manual_seed(7)
    net = make(gen).double()
    x = torch.rand(25, net.layers[0].in_features, generator=gen, dtype=torch.float64)
    with torch.no_grad():  # steep, and centred on the cube, so that most lines cross the boundary
        for layer in net.layers:
            layer.weight.mul_(4)
        net.layers[-1].bias.sub_(net.logit(torch.rand(500, x.shape[1], generator=gen, dtype=torch.float64)).median())
    for direction in (+1, -1):
        scan = net.first_flip(x, direction)
        for i in range(len(x)):
            # never later than the grid's first flipped sample (exact would be <= it, a grid can only be late)
            assert scan[i] <= _grid_first_flip(net, x[i], direction) + 1e-9
            if math.isfinite(scan[i]):  # and it is a real change of class
                moved = x[i].clone()
                moved[0] += direction * (float(scan[i]) + 1e-7)
                if 0 <= moved[0] <= 1:
                    assert predict(net, moved[None])[0] != predict(net, x[i][None])[0]
        assert torch.isfinite(scan).any()


def test_interval_bound_radius_is_sound():
    gen = torch.Generator().manual_seed(11)
    net = ReluNet(3, [16, 16], gen).double()
    x = torch.rand(30, 3, generator=gen, dtype=torch.float64) * 0.6 + 0.2
    positive = net.logit(x) > 0
    radius = ibp_certified_radius(net, x, positive, torch.ones(30, dtype=torch.float64))
    assert (radius > 0).any()
    for i in range(len(x)):  # random points and corners of the certified box never change the class
        noise = (2 * torch.rand(3000, 3, generator=gen, dtype=torch.float64) - 1) * radius[i]
        corners = torch.tensor(np.array(np.meshgrid(*[[-1.0, 1.0]] * 3)).reshape(3, -1).T) * radius[i]
        box = (x[i] + torch.cat([noise, corners])).clamp(0, 1)
        assert (predict(net, box) == int(positive[i])).all()
    dist = measure_distances(net, x, torch.Generator().manual_seed(0), pgd_steps=10, searches=6)
    assert (dist.certified <= dist.linf + 1e-9).all()


def test_a_tiny_lab_run_fills_one_row_per_setting():
    config = StabilityConfig(stripes=(2, 4), dims=(2, 3), **TINY)
    snapshots: list[StabilitySnapshot] = []
    progress = Progress(lambda done, total, partial: snapshots.append(partial))
    result = run_stability_lab(config, progress)
    assert [(r.stripes, r.dim) for r in result.rows] == [(2, 2), (4, 2), (2, 3), (4, 3)]
    for row in result.rows:
        assert row.margin == pytest.approx(0.1 / row.stripes)
        assert len(row.fixed_runs) == 2 and {r.seed for r in row.fixed_runs} == {0, 1}
        nets = [*row.fixed_runs, row.zigzag, row.nearest, row.wide]
        for net in nets:
            for name in ("train_accuracy", "test_accuracy", "median_scan", "median_l2", "median_linf",
                         "median_certified", "rho_l2", "rho_linf", "rho_certified", "rho"):
                value = getattr(net, name)
                assert value is not None and not math.isnan(value), f"{net.kind}.{name} is empty"
            assert net.points > 0 and net.parameters > 0
        assert row.zigzag.test_accuracy == 1.0 and row.zigzag.rho_proven >= 1.0
        assert not math.isnan(row.nearest.rho_proven)
        curve = row.fixed_runs[0].curve
        assert curve is not None and curve.steps[3] == 40 and curve.steps[-1] == row.fixed_runs[0].steps >= 40
        assert row.wide.hidden == [wide_width(config, row.stripes, 120)] * 2
        assert row.fixed_runs[0].train_points_measured > 0 and row.fixed_runs[0].category in (
            ACCURATE_STABLE, ACCURATE_UNSTABLE, INACCURATE)
    table = result.to_dict()
    json.dumps(table)  # plain data all the way down
    assert result.summary and "zigzag" in result.summary.lower()
    # partial results arrived while it ran: rows growing one setting at a time, each with its curve (how
    # far training had got when the lab's poll read the mailbox depends on the machine: see the next test)
    assert all(s.curve is not None for s in snapshots if s.rows)
    assert [len(s.rows) for s in snapshots] == sorted(len(s.rows) for s in snapshots)
    assert len(snapshots[-1].rows) == 4


def test_a_setting_publishes_its_training_curve_while_it_trains():
    config = StabilityConfig(stripes=(2,), dims=(2,), **TINY).validated()
    seen: dict[str, list[int]] = {}  # curve label -> its length at each call, as training went on
    units: list[int] = []
    stages: list[str] = []

    def on_curve(curve, done: int) -> None:
        seen.setdefault(curve.label, []).append(len(curve.steps))
        units.append(done)

    row = run_setting(SettingJob(2, 2, config), None, on_curve, lambda text, done: stages.append(text))
    assert len(seen) == 2  # the fixed nets' curve, then the widened net's
    for lengths in seen.values():
        assert lengths[0] < 4 and lengths == sorted(lengths) and len(set(lengths)) > 2
    assert seen[next(iter(seen))][-1] == len(row.fixed_runs[0].curve.steps)
    assert units == sorted(units)
    assert stages


def test_fixed_accuracy_is_measured_on_held_out_points():
    """Few training points in 16 dimensions: the net fits them and fails elsewhere; the lab must say so."""
    config = StabilityConfig(stripes=(8,), dims=(16,), train_points=24, test_points=400, seeds=1, train_steps=300,
                             batch=24, attack_points=5, pgd_steps=3, searches=3).validated()
    (row,) = run_stability_lab(config).rows
    fixed = row.fixed_runs[0]
    net = row.networks["fixed"][0]
    train, test = setting_data(config, 8, 16)
    assert torch.cdist(train.x, test.x).min() > 0  # different points
    test_acc = float((predict(net, test.x.double()) == test.y).float().mean())
    train_acc = float((predict(net, train.x.double()) == train.y).float().mean())
    assert fixed.test_accuracy == pytest.approx(test_acc)
    assert fixed.train_accuracy == pytest.approx(train_acc)
    assert fixed.train_accuracy >= 0.95 and fixed.test_accuracy < 0.8


def test_cancel_stops_the_lab():
    progress = Progress()
    progress.cancel()
    with pytest.raises(Cancelled):
        run_stability_lab(StabilityConfig(stripes=(2,), dims=(2,), **TINY), progress)


def test_bad_settings_are_refused_with_a_message():
    with pytest.raises(ConfigError, match="norm"):
        StabilityConfig(norm="l3").validated()
    with pytest.raises(ConfigError, match="stripes"):
        StabilityConfig(stripes=(1, 4)).validated()
    with pytest.raises(ConfigError, match="dimensions"):
        StabilityConfig(dims=()).validated()
    assert parse_int_list("2:16") == (2, 4, 8, 16)
    assert parse_int_list("2, 8,32") == (2, 8, 32)
    with pytest.raises(ConfigError):
        parse_int_list("two")


def _hand_made_row(nets: list, stripes: int = 4, config: StabilityConfig | None = None):
    """A setting whose 'fixed-architecture runs' are the given hand-made nets, measured like trained ones."""
    config = (config or StabilityConfig(stripes=(stripes,), dims=(2,), train_points=300, test_points=300,
                                        attack_points=60, pgd_steps=5, searches=4)).validated()
    train, test = setting_data(config, stripes, 2)
    gen = torch.Generator().manual_seed(0)
    runs = [measure_network("fixed", net, train, test, config, i, gen, 0.0, None, None) for i, net in enumerate(nets)]
    zig = measure_network("zigzag", ZigzagNet(2, stripes, train.margin), train, test, config, None, gen, 0.0, None,
                          None)
    from advlens.engine.labs.stability_results import SettingRow

    return SettingRow(stripes, 2, train.margin, len(train.x), len(test.x), runs, zig, zig, zig, 3.4), config


def test_a_hand_made_accurate_but_unstable_net_is_classed_so_and_the_verdict_agrees():
    delta = 0.1 / 4
    shifted = ZigzagNet(2, 4, delta, shift=0.9 * delta)  # still right on every data point, edges moved
    row, config = _hand_made_row([shifted])
    (run,) = row.fixed_runs
    assert run.test_accuracy == 1.0 and run.train_accuracy == 1.0
    assert max(run.share_below_margin, run.share_below_margin_train) > config.unstable_share
    assert run.min_distance < 0.2 * delta  # points sit within a tenth of delta of the moved edges
    assert run.category == ACCURATE_UNSTABLE and row.counts() == {ACCURATE_STABLE: 0, ACCURATE_UNSTABLE: 1,
                                                                  INACCURATE: 0}
    assert verdict([row], config) == "agrees-unstable"


def test_a_stable_accurate_net_makes_the_verdict_disagree_and_an_inaccurate_one_is_only_the_trivial_branch():
    delta = 0.1 / 4
    stable, config = _hand_made_row([ZigzagNet(2, 4, delta)])
    assert stable.fixed_runs[0].category == ACCURATE_STABLE and stable.fixed_runs[0].share_below_margin == 0
    assert verdict([stable], config) == "disagrees"
    constant = ReluNet(2, [1]).double()
    with torch.no_grad():
        for layer in constant.layers:
            layer.weight.zero_()
        constant.layers[-1].bias.fill_(1.0)  # class 1 everywhere: about half right
    inaccurate, _ = _hand_made_row([constant])
    assert inaccurate.fixed_runs[0].category == INACCURATE
    assert verdict([inaccurate], config) == "agrees-inaccurate"
    mixed, _ = _hand_made_row([constant, ZigzagNet(2, 4, delta, shift=0.9 * delta), ZigzagNet(2, 4, delta)])
    assert mixed.counts() == {ACCURATE_STABLE: 1, ACCURATE_UNSTABLE: 1, INACCURATE: 1}
    assert verdict([mixed], config) == "disagrees"  # one accurate and stable run is enough to disagree


def test_the_verdict_reads_the_hardest_setting_of_the_sweep():
    config = StabilityConfig(stripes=(2, 4), dims=(2,), **TINY)
    result = run_stability_lab(config)
    small, large = result.rows
    for run in small.fixed_runs:
        run.category = ACCURATE_STABLE
    for run in large.fixed_runs:
        run.category = ACCURATE_UNSTABLE
    assert verdict(result.rows, config) == "agrees-unstable"
    assert summarise(result).startswith("Agrees with the paper's distinctive branch")
    large.fixed_runs[0].category = ACCURATE_STABLE
    assert verdict(result.rows, config) == "disagrees"
    assert summarise(result).startswith("Disagrees with the paper on this family")
    for run in large.fixed_runs:
        run.category = INACCURATE
    assert summarise(result).startswith("Agrees only through the inaccurate branch")
    large.zigzag.category = ACCURATE_UNSTABLE
    assert verdict(result.rows, config) == "inconclusive"


def test_the_points_sweep_varies_the_training_set_and_grows_the_wide_net_with_it():
    config = StabilityConfig(dims=(2,), sweep="points", point_counts=(40, 160), points_stripes=2, **TINY).validated()
    assert config.settings() == [(2, 2, 40), (2, 2, 160)] and config.swept == "train_points"
    result = run_stability_lab(config)
    assert [(r.stripes, r.train_points) for r in result.rows] == [(2, 40), (2, 160)]
    assert [len(r.nearest.hidden) and r.nearest.hidden[0] for r in result.rows] == [40, 160]  # 1-NN: one unit a point
    assert wide_width(config, 2, 20_000) > wide_width(config, 2, 160) >= wide_width(config, 2, 40)
    assert "n = 160" in result.summary.split(".")[0] and result.verdict in ("agrees-unstable", "agrees-inaccurate",
                                                                           "disagrees", "inconclusive")
    json.dumps(result.to_dict())


def test_training_goes_on_while_the_loss_falls_and_stops_at_a_plateau():
    train, test = setting_data(StabilityConfig(), 8, 2, 400)
    def run(plateau):
        gens = [torch.Generator().manual_seed(0)]
        nets = [ReluNet(2, [16, 16], torch.Generator().manual_seed(0))]
        curve = TrainingCurve("t", ["seed 0"])
        return train_mlps(nets, gens, train, test, 100, 64, 1e-2, curve, 50, None, plateau), curve
    fixed_steps, _ = run(None)
    assert fixed_steps == 100
    steps, curve = run(Plateau(window=100, gain=0.02, max_steps=3000))
    assert 200 <= steps <= 3000 and curve.steps[-1] == steps  # K = 8 needs more than 100 steps
    early, _ = run(Plateau(window=100, gain=10.0, max_steps=3000))  # no window can gain 1000%: stop at once
    assert early == 200  # the first window after the base steps is compared with the one before
