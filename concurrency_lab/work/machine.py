"""How many CPUs can this Python process really use, and how will it start processes?

``os.cpu_count()`` counts the CPUs the *machine* has. A process may be allowed fewer:

* **CPU affinity** (Linux ``taskset``, container ``--cpuset-cpus``): the set of CPUs the
  scheduler may run it on, ``os.sched_getaffinity(0)``.
* **A cgroup CPU quota** (Docker ``--cpus=2``, Kubernetes limits, many notebook hosts):
  the process may see 64 CPUs yet get only two CPUs' worth of time per period.
* Python 3.13 added ``os.process_cpu_count()``, which honours affinity (not quotas).

The report also names the interpreter's build (:func:`concurrency_lab.work.build.describe_build`):
on a free-threaded build, threads can use several of these CPUs for Python code too.

A pool sized by ``os.cpu_count()`` on such a machine oversubscribes the real cores: it
gets no faster, and often slower. :func:`usable_cpus` takes the smallest of what it can find.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from concurrency_lab.work.build import describe_build

__all__ = ["MachineReport", "cgroup_cpu_quota", "machine_report", "usable_cpus"]


def _own_cgroups(self_cgroup: Path) -> tuple[str | None, str | None]:
    """This process's cgroup paths from ``/proc/self/cgroup``: (v2 path, v1 ``cpu`` path).

    Each line reads ``hierarchy-id:controllers:path``. Cgroup v2 has the single line
    ``0::/some/path``; cgroup v1 has one line per hierarchy, and the CPU quota lives in
    the one whose controller list contains ``cpu`` (``4:cpu,cpuacct:/docker/abc``).
    """
    v2 = v1 = None
    for line in self_cgroup.read_text().splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        hierarchy, controllers, path = parts
        if hierarchy == "0" and controllers == "":
            v2 = path
        elif "cpu" in controllers.split(","):
            v1 = path
    return v2, v1


def _dirs_up_to(mount: Path, path: str | None) -> list[Path]:
    """The cgroup directory for ``path`` under ``mount`` and its ancestors up to ``mount``.

    A limit set on a parent cgroup applies to its children too, so all of them count.
    Directories that do not exist are left out: inside a container, ``/proc/self/cgroup``
    may name the host's path while the container sees its own cgroup at ``mount``.
    """
    dirs = [mount]
    for part in Path(path or "/").parts:
        if part != "/":
            dirs.append(dirs[-1] / part)
    return [d for d in dirs if d.is_dir()]


def _v2_quota(directory: Path) -> float | None:
    quota, period = (directory / "cpu.max").read_text().split()[:2]
    return None if quota == "max" else int(quota) / int(period)


def _v1_quota(directory: Path) -> float | None:
    quota_us = int((directory / "cpu.cfs_quota_us").read_text())
    if quota_us <= 0:  # -1 means no limit
        return None
    return quota_us / int((directory / "cpu.cfs_period_us").read_text())


def cgroup_cpu_quota(
    root: Path = Path("/sys/fs/cgroup"), self_cgroup: Path = Path("/proc/self/cgroup")
) -> float | None:
    """Return the CPU quota of this process's cgroup in CPUs (e.g. ``2.0``), or ``None``.

    Finds this process's cgroup in ``self_cgroup`` (``/proc/self/cgroup``), then reads
    its quota file under ``root`` (the cgroup mount), and its ancestors' (a parent's
    limit binds its children): cgroup v2's ``cpu.max`` (``"200000 100000"`` means 2
    CPUs, ``"max 100000"`` no limit), or cgroup v1's ``cpu.cfs_quota_us`` /
    ``cpu.cfs_period_us`` in the ``cpu`` hierarchy (``root/cpu``). The smallest quota
    found wins. Returns ``None`` when there is no quota or no cgroup at all (macOS,
    Windows). The parameters let tests point both at a fake tree.
    """
    try:
        v2_path, v1_path = _own_cgroups(self_cgroup)
    except OSError:  # no /proc (macOS, Windows) or not readable: look at the mount root
        v2_path = v1_path = None
    quotas: list[float] = []
    for directory in _dirs_up_to(root, v2_path):
        if (directory / "cpu.max").is_file():
            quotas += [q for q in [_safe(_v2_quota, directory)] if q is not None]
    for directory in _dirs_up_to(root / "cpu", v1_path):  # cgroup v1: the cpu hierarchy
        if (directory / "cpu.cfs_quota_us").is_file():
            quotas += [q for q in [_safe(_v1_quota, directory)] if q is not None]
    return min(quotas, default=None)


def _safe(read: Callable[[Path], float | None], directory: Path) -> float | None:
    """``read(directory)``, or ``None`` if the file is unreadable or malformed."""
    try:
        return read(directory)
    except (OSError, ValueError):
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
    build: str = ""

    def rows(self) -> list[tuple[str, str]]:
        """(question, answer) pairs, ready to print as a small table."""

        def show(value: object, missing: str) -> str:
            return missing if value is None else str(value)

        return [
            ("Python", self.python),
            ("build (is there a GIL?)", self.build or "unknown"),
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
        build=describe_build(),
    )
