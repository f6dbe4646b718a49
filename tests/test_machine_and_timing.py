"""Machine facts (usable CPUs, cgroup quotas) and the timing helpers."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from concurrency_lab.work.machine import cgroup_cpu_quota, machine_report, usable_cpus
from concurrency_lab.work.timing import Stopwatch, fmt_ratio, fmt_seconds


def _self_cgroup(tmp_path: Path, text: str) -> Path:
    """A fake ``/proc/self/cgroup``."""
    path = tmp_path / "self_cgroup"
    path.write_text(text)
    return path


def test_cgroup_v2_quota_at_the_mount_root(tmp_path: Path) -> None:
    # a container with its own cgroup namespace sees its cgroup as "/"
    root = tmp_path / "cgroup"
    root.mkdir()
    me = _self_cgroup(tmp_path, "0::/\n")
    (root / "cpu.max").write_text("200000 100000\n")
    assert cgroup_cpu_quota(root, me) == 2.0
    (root / "cpu.max").write_text("max 100000\n")
    assert cgroup_cpu_quota(root, me) is None


def test_cgroup_v2_reads_this_process_cgroup_and_its_parents(tmp_path: Path) -> None:
    root = tmp_path / "cgroup"
    mine = root / "user.slice" / "app.scope"
    mine.mkdir(parents=True)
    (root / "user.slice" / "cpu.max").write_text("max 100000\n")
    (mine / "cpu.max").write_text("150000 100000\n")
    (root / "other.slice").mkdir()
    (root / "other.slice" / "cpu.max").write_text("50000 100000\n")  # not ours: ignored
    me = _self_cgroup(tmp_path, "0::/user.slice/app.scope\n")
    assert cgroup_cpu_quota(root, me) == 1.5
    # a parent's tighter limit binds its children
    (root / "user.slice" / "cpu.max").write_text("100000 100000\n")
    assert cgroup_cpu_quota(root, me) == 1.0


def test_cgroup_path_missing_under_the_mount_falls_back_to_the_root(tmp_path: Path) -> None:
    # /proc/self/cgroup may name the host's path, which the container cannot see
    root = tmp_path / "cgroup"
    root.mkdir()
    (root / "cpu.max").write_text("300000 100000\n")
    me = _self_cgroup(tmp_path, "0::/docker/0123abcd\n")
    assert cgroup_cpu_quota(root, me) == 3.0


def test_cgroup_v1_quota(tmp_path: Path) -> None:
    root = tmp_path / "cgroup"
    mine = root / "cpu" / "docker" / "abc"
    mine.mkdir(parents=True)
    (mine / "cpu.cfs_quota_us").write_text("150000")
    (mine / "cpu.cfs_period_us").write_text("100000")
    me = _self_cgroup(
        tmp_path, "5:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/docker/abc\n"
    )
    assert cgroup_cpu_quota(root, me) == 1.5
    (mine / "cpu.cfs_quota_us").write_text("-1")  # -1: no limit
    assert cgroup_cpu_quota(root, me) is None


def test_cgroup_v1_quota_at_the_mount_root(tmp_path: Path) -> None:
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("150000")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000")
    me = _self_cgroup(tmp_path, "1:cpu:/\n0::/\n")
    assert cgroup_cpu_quota(tmp_path, me) == 1.5


def test_malformed_quota_file_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "cpu.max").write_text("lots\n")
    assert cgroup_cpu_quota(tmp_path, _self_cgroup(tmp_path, "0::/\n")) is None


def test_no_cgroup_files(tmp_path: Path) -> None:
    assert cgroup_cpu_quota(tmp_path, _self_cgroup(tmp_path, "0::/\n")) is None
    # no /proc/self/cgroup at all (macOS, Windows): only the mount root is looked at
    assert cgroup_cpu_quota(tmp_path, tmp_path / "missing") is None
    (tmp_path / "cpu.max").write_text("200000 100000\n")
    assert cgroup_cpu_quota(tmp_path, tmp_path / "missing") == 2.0


def test_usable_cpus_takes_the_smallest_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    monkeypatch.setattr("concurrency_lab.work.machine.cgroup_cpu_quota", lambda: 2.5)
    assert usable_cpus() == 2


def test_machine_report_is_consistent() -> None:
    report = machine_report()
    assert 1 <= report.usable <= (report.cpu_count or report.usable)
    assert report.start_method in ("fork", "spawn", "forkserver")
    text = str(report)
    assert "usable CPUs" in text and report.python in text
    assert report.build in text and report.python in report.build


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (8.0123, "8.01 s"),
        (12.3456, "12.35 s"),  # hundredths of a second, not three significant digits
        (0.1, "0.10 s"),
        (0.0153, "15.3 ms"),
        (0.001, "1.0 ms"),
        (0.000042, "42 µs"),
    ],
)
def test_fmt_seconds(seconds: float, text: str) -> None:
    assert fmt_seconds(seconds) == text


def test_fmt_ratio() -> None:
    assert fmt_ratio(8 / 3) == "2.67×"


def test_stopwatch_freezes_at_block_end() -> None:
    with Stopwatch() as sw:
        time.sleep(0.02)
    first = sw.elapsed
    time.sleep(0.01)
    assert sw.elapsed == first >= 0.02
    assert str(sw) == fmt_seconds(first)


def test_stopwatch_not_started() -> None:
    with pytest.raises(RuntimeError, match="with"):
        _ = Stopwatch().elapsed
