"""What one run of the Stability lab does: a frozen dataclass that round-trips through JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from ..errors import ConfigError

MARGIN_FRACTION = 0.1  # delta = MARGIN_FRACTION / K
NORMS = ("l2", "linf")
SWEEPS = ("stripes", "points")


def _int_list(values: list[int] | tuple[int, ...], name: str, low: int, high: int) -> tuple[int, ...]:
    out = tuple(int(v) for v in values)
    if not out:
        raise ConfigError(f"{name}: give at least one value")
    bad = [v for v in out if not low <= v <= high]
    if bad:
        raise ConfigError(f"{name} must be between {low} and {high}; got {bad[0]}")
    return tuple(sorted(set(out)))


def parse_int_list(text: str, name: str = "list") -> tuple[int, ...]:
    """'2,4,8' or '2:64' (powers of two from 2 to 64) -> a tuple of whole numbers."""
    text = text.strip()
    try:
        if ":" in text:
            first, last = (int(p) for p in text.split(":", 1))
            if first < 1 or last < first:
                raise ValueError
            values = [first]
            while values[-1] * 2 <= last:
                values.append(values[-1] * 2)
            return tuple(values)
        return tuple(int(p) for p in text.replace(" ", ",").split(",") if p)
    except ValueError as exc:
        raise ConfigError(f"{name}: expected whole numbers like 2,4,8 or a power-of-two range 2:64; got '{text}'") from exc


@dataclass(frozen=True)
class StabilityConfig:
    """Everything one run of the lab depends on; plain data, so a run can be repeated or sent elsewhere.

    Two sweeps. 'stripes' varies the number of stripes K (and d) at a fixed training-set size: as K grows
    the fixed architecture runs out of linear pieces, which tests the paper's inaccurate branch. 'points'
    holds K at `points_stripes` (a K the fixed net learns) and varies the training-set size n over
    `point_counts`: it tests the other branch, networks that generalise yet are unstable.
    """

    stripes: tuple[int, ...] = (2, 4, 8, 16, 32, 64)
    dims: tuple[int, ...] = (2, 32, 256)
    train_points: int = 2000
    test_points: int = 1000
    sweep: str = "stripes"  # stripes | points
    point_counts: tuple[int, ...] = (100, 300, 1000, 3000, 10_000, 20_000)  # the 'points' sweep's n
    points_stripes: int = 4  # K of the 'points' sweep
    width: int = 16  # the fixed architecture: d -> width x depth -> 1, the same for every K, d and n
    depth: int = 2
    wide_per_stripe: int = 4  # widened MLP: width = max(width, wide_per_stripe * K, wide_per_point * sqrt(n))
    wide_per_point: float = 1.0
    seeds: int = 3  # trainings of the fixed architecture per setting
    train_steps: int = 2000  # at least; training goes on while the loss still falls (see plateau_*)
    plateau_window: int = 500  # after train_steps, keep training in windows of this many steps ...
    plateau_gain: float = 0.02  # ... while a window lowers the mean loss by more than this share ...
    plateau_max_factor: int = 8  # ... up to this many times train_steps
    batch: int = 256
    learning_rate: float = 1e-2
    attack_points: int = 200  # correctly classified test (and training) points measured per network
    pgd_steps: int = 15
    searches: int = 8  # bisection steps on the PGD budget
    threads: int = 1  # torch threads while the lab runs (see `torch_threads`)
    norm: str = "l2"  # the headline distance: l2 or linf (both are always measured)
    accurate_at: float = 0.95  # a run is "accurate" at this held-out accuracy or more
    unstable_share: float = 0.05  # and "unstable" when more of its measured points than this lie within delta
    seed: int = 0
    log_every: int = 25

    def validated(self) -> StabilityConfig:
        if self.norm not in NORMS:
            raise ConfigError(f"norm must be one of {', '.join(NORMS)}; got '{self.norm}'")
        if self.sweep not in SWEEPS:
            raise ConfigError(f"sweep must be one of {', '.join(SWEEPS)}; got '{self.sweep}'")
        checks = [("train points", self.train_points, 4, 100_000), ("test points", self.test_points, 4, 100_000),
                  ("width", self.width, 1, 4096), ("depth", self.depth, 1, 8), ("seeds", self.seeds, 1, 100),
                  ("training steps", self.train_steps, 1, 1_000_000), ("batch", self.batch, 1, 100_000),
                  ("attack points", self.attack_points, 1, 100_000), ("PGD steps", self.pgd_steps, 1, 10_000),
                  ("searches", self.searches, 1, 40), ("widening factor", self.wide_per_stripe, 1, 1024),
                  ("threads", self.threads, 1, 256), ("log interval", self.log_every, 1, 1_000_000),
                  ("points sweep K", self.points_stripes, 2, 4096), ("plateau window", self.plateau_window, 1,
                                                                     1_000_000),
                  ("plateau factor", self.plateau_max_factor, 1, 100)]
        for name, value, low, high in checks:
            if not low <= int(value) <= high:
                raise ConfigError(f"{name} must be between {low} and {high}; got {value}")
        if not 0 < self.learning_rate < 10:
            raise ConfigError(f"learning rate must be in (0, 10); got {self.learning_rate}")
        if not 0 <= self.accurate_at <= 1 or not 0 <= self.unstable_share < 1:
            raise ConfigError("the accuracy threshold must be in [0, 1] and the unstable share in [0, 1)")
        if self.wide_per_point < 0 or self.plateau_gain < 0:
            raise ConfigError("the widening per point and the plateau gain must be >= 0")
        return replace(self, stripes=_int_list(self.stripes, "stripes K", 2, 4096),
                       dims=_int_list(self.dims, "dimensions d", 1, 65_536),
                       point_counts=_int_list(self.point_counts, "training-set sizes", 4, 100_000))

    def settings(self) -> list[tuple[int, int, int]]:
        """(K, d, n) triples, d outer: the first d's sweep fills in first."""
        if self.sweep == "points":
            return [(self.points_stripes, d, n) for d in self.dims for n in self.point_counts]
        return [(k, d, self.train_points) for d in self.dims for k in self.stripes]

    @property
    def swept(self) -> str:
        """The SettingRow attribute the sweep varies besides d: 'stripes' or 'train_points'."""
        return "train_points" if self.sweep == "points" else "stripes"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> StabilityConfig:
        known = set(cls.__dataclass_fields__)
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in known}
        return cls(**values)


def config_from_options(options: dict) -> StabilityConfig:
    """The Stability panel's plain options as a validated config (ConfigError on bad input); the GUI
    checks them with it before asking the engine, and the engine builds the run's config with it."""
    return StabilityConfig(
        stripes=parse_int_list(str(options["stripes"]), "stripes K"),
        dims=parse_int_list(str(options["dims"]), "dimensions d"),
        train_points=int(options["train_points"]), test_points=int(options["test_points"]),
        width=int(options["width"]), depth=int(options["depth"]), seeds=int(options["seeds"]),
        train_steps=int(options["train_steps"]), learning_rate=float(options["learning_rate"]),
        norm=str(options["norm"]), sweep=str(options.get("sweep", "stripes")),
        point_counts=parse_int_list(str(options.get("point_counts", "100,300,1000,3000,10000,20000")),
                                    "training-set sizes"),
        points_stripes=int(options.get("points_stripes", 4)),
    ).validated()
