"""How many CPUs can this Python process really use, and how will it start processes?

``os.cpu_count()`` counts the CPUs the *machine* has. A process may be allowed fewer:

* **CPU affinity** (Linux ``taskset``, container ``--cpuset-cpus``): the set of CPUs the
  scheduler may run it on, ``os.sched_getaffinity(0)``.
* **A cgroup CPU quota** (Docker ``--cpus=2``, Kubernetes limits, many notebook hosts):
  the process may see 64 CPUs yet get only two CPUs' worth of time per period.
* Python 3.13 added ``os.process_cpu_count()``, which honours affinity (not quotas).

A pool sized by ``os.cpu_count()`` on such a machine oversubscribes the real cores and
runs slower, not faster. :func:`usable_cpus` takes the smallest of what it can find.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import platform
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["MachineReport", "cgroup_cpu_quota", "machine_report", "usable_cpus"]


def cgroup_cpu_quota(root: Path = Path("/sys/fs/cgroup")) -> float | None:
    """Return the CPU quota of this process's cgroup in CPUs (e.g. ``2.0``), or ``None``.

    Reads cgroup v2's ``cpu.max`` (``"200000 100000"`` means 2 CPUs, ``"max 100000"``
    means no limit) or cgroup v1's ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``. Returns
    ``None`` when there is no quota or no cgroup file (macOS, Windows).
    """
    try:
        v2 = root / "cpu.max"
        if v2.exists():
            quota, period = v2.read_text().split()[:2]
            if quota == "max":
                return None
            return int(quota) / int(period)
        v1q, v1p = root / "cpu" / "cpu.cfs_quota_us", root / "cpu" / "cpu.cfs_period_us"
        if v1q.exists() and v1p.exists():
            quota_us = int(v1q.read_text())
            if quota_us <= 0:
                return None
            return quota_us / int(v1p.read_text())
    except (OSError, ValueError):
        return None
    return None


def _affinity_count() -> int | None:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return None


def _process_cpu_count() -> int | None:
    counter = getattr(os, "process_cpu_count", None)  # Python 3.13+
    return counter() if counter is not None else None


def usable_cpus() -> int:
    """The number of CPUs worth of work this process can really do at once (at least 1)."""
    candidates = [c for c in (os.cpu_count(), _affinity_count(), _process_cpu_count()) if c]
    quota = cgroup_cpu_quota()
    if quota is not None:
        candidates.append(max(1, math.floor(quota)))
    return max(1, min(candidates, default=1))


@dataclass(frozen=True)
class MachineReport:
    """The facts about this machine that decide how concurrency will behave on it."""

    python: str
    platform: str
    cpu_count: int | None
    affinity: int | None
    process_cpu_count: int | None
    cgroup_quota: float | None
    usable: int
    start_method: str

    def rows(self) -> list[tuple[str, str]]:
        """(question, answer) pairs, ready to print as a small table."""

        def show(value: object, missing: str) -> str:
            return missing if value is None else str(value)

        return [
            ("Python", self.python),
            ("platform", self.platform),
            ("os.cpu_count() (CPUs the machine has)", show(self.cpu_count, "unknown")),
            ("os.sched_getaffinity(0) (CPUs I may run on)", show(self.affinity, "n/a on this OS")),
            ("os.process_cpu_count() (3.13+)", show(self.process_cpu_count, "n/a before 3.13")),
            ("cgroup CPU quota", show(self.cgroup_quota, "none")),
            ("usable CPUs (the smallest of these)", str(self.usable)),
            ("default start method", self.start_method),
        ]

    def __str__(self) -> str:
        rows = self.rows()
        width = max(len(q) for q, _ in rows)
        return "\n".join(f"{q:<{width}}  {a}" for q, a in rows)


def machine_report() -> MachineReport:
    """Gather the :class:`MachineReport` for the running process."""
    return MachineReport(
        python=sys.version.split()[0],
        platform=f"{platform.system()} {platform.machine()}",
        cpu_count=os.cpu_count(),
        affinity=_affinity_count(),
        process_cpu_count=_process_cpu_count(),
        cgroup_quota=cgroup_cpu_quota(),
        usable=usable_cpus(),
        start_method=multiprocessing.get_context().get_start_method(),
    )
