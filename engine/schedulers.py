"""Where a sweep's jobs run, named in one string: the GUI's Settings field, `--scheduler`, $ADVLENS_SCHEDULER.

- '' or 'local': the engine's own job workers in this process (the default);
- 'local:N': a Dask `LocalCluster` of N worker processes on this machine, on the loopback interface only;
- 'tcp://HOST:PORT' (or tls://): a running Dask scheduler (a SLURM/PBS cluster through dask-jobqueue, a
  lab's machines, one reached over an SSH tunnel).

Torch-free and Dask-free, so the GUI process can check what a person typed before it sends it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from .errors import ConfigError

ENV_VAR = "ADVLENS_SCHEDULER"
MAX_LOCAL_WORKERS = 64
_ADDRESS = re.compile(r"^(tcp|tls)://[A-Za-z0-9_.\-\[\]:]+:\d{1,5}$")


@dataclass(frozen=True)
class Scheduler:
    """A parsed scheduler choice: `kind` is 'pool', 'local-cluster' or 'remote'."""

    kind: str
    workers: int = 0  # local-cluster: how many worker processes
    address: str = ""  # remote: the scheduler's address

    @property
    def uses_dask(self) -> bool:
        return self.kind != "pool"

    def describe(self) -> str:
        if self.kind == "pool":
            return "the local pool"
        if self.kind == "local-cluster":
            return f"a Dask LocalCluster of {self.workers} worker{'s' if self.workers != 1 else ''}"
        return f"the Dask scheduler at {self.address}"


def parse_scheduler(text: str | None) -> Scheduler:
    """The scheduler a string names; ConfigError with the accepted forms for anything else."""
    value = (text or "").strip()
    if value in ("", "local", "pool"):
        return Scheduler("pool")
    if value.startswith("local:"):
        count = value.split(":", 1)[1]
        if not count.isdigit() or not 1 <= int(count) <= MAX_LOCAL_WORKERS:
            raise ConfigError(f"local:N needs a worker count from 1 to {MAX_LOCAL_WORKERS}, got '{value}'")
        return Scheduler("local-cluster", workers=int(count))
    if _ADDRESS.match(value):
        port = int(value.rsplit(":", 1)[1])
        if not 0 < port < 65536:
            raise ConfigError(f"scheduler port must be 1-65535, got {port}")
        return Scheduler("remote", address=value)
    raise ConfigError(f"unknown scheduler '{value}': use 'local' (this process), 'local:N' (a Dask LocalCluster "
                      "of N workers) or tcp://HOST:PORT (a running Dask scheduler)")


def scheduler_from(flag: str | None, environ: dict[str, str] | None = None) -> str:
    """The scheduler string in force: the flag if given, else $ADVLENS_SCHEDULER, else '' (the local pool)."""
    if flag is not None and flag.strip():
        return flag.strip()
    env = os.environ if environ is None else environ
    return env.get(ENV_VAR, "").strip()
