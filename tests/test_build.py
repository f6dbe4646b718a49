"""Which build is running: every branch, with the detection patched.

No free-threaded interpreter is available where the course is tested, so the
free-threaded branches are covered here by patching ``sys._is_gil_enabled`` and
``sysconfig.get_config_var``.
"""

from __future__ import annotations

import sys
import sysconfig

import pytest

from concurrency_lab.work import build
from concurrency_lab.work.build import describe_build, free_threaded_build, gil_enabled


def _patch_build(monkeypatch: pytest.MonkeyPatch, *, disabled: object, gil_on: bool | None) -> None:
    """Pretend the build flag is ``disabled`` and the GIL is ``gil_on`` (None: no probe)."""
    real = sysconfig.get_config_var

    def fake_config_var(name: str) -> object:
        return disabled if name == "Py_GIL_DISABLED" else real(name)

    monkeypatch.setattr(sysconfig, "get_config_var", fake_config_var)
    if gil_on is None:
        monkeypatch.delattr(sys, "_is_gil_enabled", raising=False)
    else:
        monkeypatch.setattr(sys, "_is_gil_enabled", lambda: gil_on, raising=False)


def test_before_313_there_is_always_a_gil(monkeypatch: pytest.MonkeyPatch) -> None:
    _patch_build(monkeypatch, disabled=None, gil_on=None)
    assert gil_enabled() is True
    assert free_threaded_build() is False
    assert describe_build().endswith(", GIL build (the GIL is on)")


def test_gil_build(monkeypatch: pytest.MonkeyPatch) -> None:
    _patch_build(monkeypatch, disabled=0, gil_on=True)
    assert gil_enabled() is True
    assert free_threaded_build() is False
    line = describe_build()
    assert line.startswith(f"CPython {sys.version_info.major}.{sys.version_info.minor}")
    assert line.endswith("GIL build (the GIL is on)")


def test_free_threaded_gil_off(monkeypatch: pytest.MonkeyPatch) -> None:
    _patch_build(monkeypatch, disabled=1, gil_on=False)
    assert gil_enabled() is False
    assert free_threaded_build() is True
    assert describe_build().endswith(", free-threaded build, GIL off")


def test_free_threaded_gil_reenabled(monkeypatch: pytest.MonkeyPatch) -> None:
    _patch_build(monkeypatch, disabled=1, gil_on=True)
    assert gil_enabled() is True
    assert free_threaded_build() is True
    line = describe_build()
    assert "free-threaded build, but the GIL was re-enabled" in line
    assert "\n" not in line


def test_real_interpreter_is_consistent() -> None:
    # Whatever runs the tests: a GIL build always has the GIL on.
    if not free_threaded_build():
        assert gil_enabled()
    assert describe_build().count("\n") == 0


def test_public_api() -> None:
    assert set(build.__all__) == {"gil_enabled", "free_threaded_build", "describe_build"}
