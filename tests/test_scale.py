"""The scale knob: one environment variable, validated with a clear message."""

from __future__ import annotations

import pytest

from concurrency_lab.work.scale import (
    ENV_VAR,
    ScaleError,
    get_scale,
    parse_scale,
    scaled_count,
    scaled_seconds,
)


@pytest.mark.parametrize(
    ("raw", "value"),
    [(None, 1.0), ("", 1.0), ("1", 1.0), ("0.01", 0.01), (" 2.5 ", 2.5), ("1e-3", 0.001)],
)
def test_valid_values(raw: str | None, value: float) -> None:
    assert parse_scale(raw) == value


@pytest.mark.parametrize("raw", ["abc", "0", "-1", "nan", "inf", "-0.0", "1,5"])
def test_bad_values_name_the_variable_and_the_value(raw: str) -> None:
    with pytest.raises(ScaleError) as info:
        parse_scale(raw)
    message = str(info.value)
    assert ENV_VAR in message
    assert repr(raw) in message


def test_scale_is_read_at_each_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, "0.5")
    assert get_scale() == 0.5
    assert scaled_seconds(3) == 1.5
    monkeypatch.setenv(ENV_VAR, "0.25")
    assert scaled_seconds(4) == 1.0


def test_unset_means_lecture_scale(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert get_scale() == 1.0


def test_bad_env_value_raises_on_use(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, "fast")
    with pytest.raises(ScaleError, match="CONCURRENCY_LAB_SCALE='fast'"):
        scaled_seconds(1)


def test_scaled_count_never_below_minimum(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, "1e-9")
    assert scaled_count(100_000_000) == 1
    assert scaled_count(100, minimum=10) == 10
    monkeypatch.setenv(ENV_VAR, "0.01")
    assert scaled_count(100_000_000) == 1_000_000
