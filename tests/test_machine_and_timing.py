"""Machine facts (usable CPUs, cgroup quotas) and the timing helpers."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from concurrency_lab.work.machine import cgroup_cpu_quota, machine_report, usable_cpus
from concurrency_lab.work.timing import Stopwatch, fmt_ratio, fmt_seconds


def test_cgroup_v2_quota(tmp_path: Path) -> None:
    (tmp_path / "cpu.max").write_text("200000 100000\n")
    assert cgroup_cpu_quota(tmp_path) == 2.0
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert cgroup_cpu_quota(tmp_path) is None


def test_cgroup_v1_quota(tmp_path: Path) -> None:
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("150000")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000")
    assert cgroup_cpu_quota(tmp_path) == 1.5
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("-1")
    assert cgroup_cpu_quota(tmp_path) is None


def test_no_cgroup_files(tmp_path: Path) -> None:
    assert cgroup_cpu_quota(tmp_path) is None


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


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(8.0123, "8.01 s"), (0.1, "0.10 s"), (0.0153, "15.3 ms"), (0.000042, "42 µs")],
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
