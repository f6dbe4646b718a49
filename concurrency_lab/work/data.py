"""Lesson 05's data: a seeded set of sales-record CSV files, and a few broken ones.

:func:`make_dataset` writes files like this one (``sales_0007.csv``)::

    date,store,category,product,units,unit_price_cents
    2024-03-17,store_12,dairy,cheese,2,599
    2024-11-02,store_12,snacks,popcorn,1,183

Everything comes from seeded generators, so the same arguments give byte-identical files
on every machine and Python version. The number of rows is the work: ``rows`` is the
*mean* rows per file at lecture scale and is multiplied by ``CONCURRENCY_LAB_SCALE``
(see :mod:`concurrency_lab.work.scale`), so a test run at scale 0.02 parses 2 % of the rows.
``skew`` decides how unequal the files are: ``0`` gives files of equal length, ``1`` a
heavy-tailed mix (log-normal sizes: many small files and a few big ones, as when some
stores sell far more than others) with the same total number of rows.

The files live under the repository's ``data/`` folder (git-ignored), made on demand. A
small ``manifest.json`` records what a folder holds, so calling :func:`make_dataset`
again with the same arguments (every time a notebook runs) costs a few ``stat`` calls.

Amounts are integers (cents): summing integers is exact in any order, so a result
combined from batches processed in parallel equals the sequential one *exactly*.

This module imports only the standard library: worker processes import it.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

from concurrency_lab.work.arguments import whole_number
from concurrency_lab.work.scale import scaled_count

__all__ = [
    "CATEGORIES",
    "COLUMNS",
    "DATA_DIR",
    "DATA_ENV_VAR",
    "MANIFEST_NAME",
    "PRODUCTS",
    "data_dir",
    "make_dataset",
    "missing_path",
    "write_bad_files",
]

DATA_ENV_VAR = "CONCURRENCY_LAB_DATA"


def data_dir() -> Path:
    """Where datasets are written: the first of these that applies.

    1. ``$CONCURRENCY_LAB_DATA``, when set (any folder you may write to);
    2. the repository's ``data/`` folder (git-ignored), when running from a checkout of the
       course (its ``pyproject.toml`` sits next to the package);
    3. a per-user cache folder, when the package was installed (``pip install``, Colab):
       ``$XDG_CACHE_HOME/concurrency-lab/data`` or ``~/.cache/concurrency-lab/data``
       (on Windows ``%LOCALAPPDATA%\\concurrency-lab\\data``), never inside site-packages.

    The folder is created when a dataset is written, not here.
    """
    configured = os.environ.get(DATA_ENV_VAR, "").strip()
    if configured:
        return Path(configured).expanduser()
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "pyproject.toml").is_file() and (checkout / "concurrency_lab").is_dir():
        return checkout / "data"
    if os.name == "nt" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "concurrency-lab" / "data"
    cache = os.environ.get("XDG_CACHE_HOME", "").strip()
    base = Path(cache) if cache else Path.home() / ".cache"
    return base / "concurrency-lab" / "data"


DATA_DIR = data_dir()
"""The folder datasets go to, chosen once at import by :func:`data_dir`."""

COLUMNS = ("date", "store", "category", "product", "units", "unit_price_cents")
"""The header line of every sales file, in order."""

PRODUCTS: dict[str, dict[str, int]] = {
    "bakery": {"bagel": 99, "bread": 249, "croissant": 129, "muffin": 199},
    "beverages": {"coffee": 899, "juice": 329, "tea": 449, "water": 89},
    "dairy": {"butter": 389, "cheese": 599, "milk": 139, "yogurt": 119},
    "household": {"bin bags": 499, "detergent": 1199, "paper towels": 799, "sponges": 349},
    "produce": {"apples": 299, "bananas": 149, "lettuce": 179, "tomatoes": 259},
    "snacks": {"chips": 279, "chocolate": 199, "nuts": 649, "popcorn": 229},
}
"""The catalogue: category → product → list price in cents."""

CATEGORIES = tuple(sorted(PRODUCTS))
"""The six categories, sorted."""

MANIFEST_NAME = "manifest.json"
_FORMAT_VERSION = 1
_MAX_SHARE = 0.3  # no file holds more than about 30 % of the rows: two workers can still balance
_FILE_NAME = re.compile(r"sales_\d+\.csv")
_CATALOGUE = [(c, p, price) for c in CATEGORIES for p, price in sorted(PRODUCTS[c].items())]
_DAYS = [(date(2024, 1, 1) + timedelta(days=d)).isoformat() for d in range(366)]
_UNITS = list(range(1, 13))
_UNIT_WEIGHTS = [30, 22, 14, 10, 7, 5, 4, 3, 2, 1, 1, 1]  # mostly one or two of a thing


# -- argument checks ------------------------------------------------------------------------
def _check_int(name: str, value: object, minimum: int) -> int:
    return whole_number(name, value, minimum=minimum)


def _check_skew(skew: object) -> float:
    if isinstance(skew, bool) or not isinstance(skew, (int, float)):
        raise TypeError(f"skew must be a number from 0 (even sizes) to 1 (skewed), got {skew!r}")
    if not (0.0 <= skew <= 1.0):  # also rejects nan
        raise ValueError(f"skew must be between 0 (even sizes) and 1 (skewed), got {skew!r}")
    return float(skew)


# -- sizes and contents ---------------------------------------------------------------------
def _row_counts(n_files: int, mean_rows: int, skew: float, seed: int) -> list[int]:
    """Rows per file: all ``mean_rows`` for skew 0, else log-normal shares of the same total.

    Each file gets at least one row; no file gets more than ~``_MAX_SHARE`` of the total
    (when there are at least four files), so an even two-way split stays possible.
    """
    total = n_files * mean_rows
    if skew == 0.0 or n_files == 1:
        return [mean_rows] * n_files
    rng = random.Random(f"sales-sizes:{seed}")
    sigma = 2.0 * skew
    weights = [math.exp(sigma * rng.normalvariate(0.0, 1.0)) for _ in range(n_files)]
    shares = _capped_shares(weights, _MAX_SHARE if n_files >= 4 else 1.0)
    # one row each, then the rest by largest remainder (ties: lower index first)
    spare = total - n_files
    exact = [s * spare for s in shares]
    counts = [1 + math.floor(x) for x in exact]
    left = total - sum(counts)
    order = sorted(range(n_files), key=lambda i: (-(exact[i] - math.floor(exact[i])), i))
    for i in order[:left]:
        counts[i] += 1
    return counts


def _capped_shares(weights: list[float], cap: float) -> list[float]:
    """Normalise ``weights`` to shares summing to 1, none above ``cap`` (water-filling)."""
    fixed: dict[int, float] = {}
    while True:
        free = [i for i in range(len(weights)) if i not in fixed]
        room = 1.0 - sum(fixed.values())
        free_total = sum(weights[i] for i in free)
        shares = {i: room * weights[i] / free_total for i in free}
        over = [i for i in free if shares[i] > cap]
        if not over:
            shares.update(fixed)
            return [shares[i] for i in range(len(weights))]
        for i in over:
            fixed[i] = cap


def _file_text(seed: int, index: int, n_rows: int) -> str:
    """The full text of file ``index``: a header and ``n_rows`` seeded sales records."""
    rng = random.Random(f"sales-file:{seed}:{index}")
    store = f"store_{rng.randrange(1, 41):02d}"
    days = rng.choices(_DAYS, k=n_rows)
    items = rng.choices(_CATALOGUE, k=n_rows)
    units = rng.choices(_UNITS, weights=_UNIT_WEIGHTS, k=n_rows)
    lines = [",".join(COLUMNS)]
    for day, (category, product, price), n in zip(days, items, units, strict=True):
        if rng.random() < 0.15:  # on offer: 20 % off, in whole cents
            price = price * 4 // 5
        lines.append(f"{day},{store},{category},{product},{n},{price}")
    lines.append("")
    return "\n".join(lines)


def _write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers never see half a file.

    Several notebook runs may build the same dataset at once (tests run notebooks in
    parallel); each writes a private temporary file and renames it into place.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as f:  # "\n" on every OS
        f.write(text)
    os.replace(tmp, path)


@contextlib.contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` while a dataset is checked or written (POSIX)."""
    try:
        import fcntl
    except ImportError:  # Windows: atomic renames alone keep every file whole
        yield
        return
    with open(folder / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _read_manifest(folder: Path) -> dict[str, object] | None:
    try:
        return json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _manifest_matches(folder: Path, params: dict[str, object]) -> list[Path] | None:
    """The dataset's paths if ``folder`` already holds exactly it, else ``None``."""
    manifest = _read_manifest(folder)
    if not isinstance(manifest, dict) or manifest.get("params") != params:
        return None
    files = manifest.get("files")
    if not isinstance(files, dict):
        return None
    paths = []
    for name, n_bytes in files.items():
        path = folder / name
        try:
            if path.stat().st_size != n_bytes:
                return None
        except OSError:
            return None
        paths.append(path)
    return sorted(paths)


# -- the public functions --------------------------------------------------------------------
def make_dataset(
    folder: str | os.PathLike[str] | None = None,
    *,
    n_files: int = 200,
    rows: int = 2_000,
    skew: float = 0.0,
    seed: int = 0,
) -> list[Path]:
    """Write ``n_files`` seeded sales CSV files into ``folder``; return their paths, sorted.

    ``folder`` defaults to ``DATA_DIR / "sales"`` and is created if needed. ``rows`` is the
    mean number of rows per file at lecture scale; the real mean is
    ``scaled_count(rows)`` (at least 1). ``skew`` goes from 0 (every file the same
    length) to 1 (heavy-tailed sizes, the same total). The same arguments at the same
    scale give byte-identical files; if ``folder`` already holds exactly that dataset
    nothing is rewritten. Files of an older dataset in the folder (``sales_NNNN.csv``) are
    removed; other files are left alone.
    """
    n_files = _check_int("n_files", n_files, 1)
    rows = _check_int("rows", rows, 1)
    skew = _check_skew(skew)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {seed!r}")
    if folder is not None and not isinstance(folder, (str, os.PathLike)):
        raise TypeError(f"folder must be a path (str or Path) or None, got {folder!r}")
    target = DATA_DIR / "sales" if folder is None else Path(folder)
    mean_rows = scaled_count(rows)
    params: dict[str, object] = {
        "version": _FORMAT_VERSION,
        "n_files": n_files,
        "mean_rows": mean_rows,
        "skew": skew,
        "seed": seed,
    }
    target.mkdir(parents=True, exist_ok=True)
    with _folder_lock(target):
        existing = _manifest_matches(target, params)
        if existing is not None:
            return existing
        (target / MANIFEST_NAME).unlink(missing_ok=True)
        width = max(4, len(str(n_files - 1)))
        counts = _row_counts(n_files, mean_rows, skew, seed)
        files: dict[str, int] = {}
        for index, n_rows in enumerate(counts):
            path = target / f"sales_{index:0{width}d}.csv"
            text = _file_text(seed, index, n_rows)
            _write_atomically(path, text)
            files[path.name] = len(text.encode("utf-8"))
        for old in target.iterdir():
            if _FILE_NAME.fullmatch(old.name) and old.name not in files:
                old.unlink()
        manifest = {"params": params, "files": files}
        _write_atomically(target / MANIFEST_NAME, json.dumps(manifest, indent=1) + "\n")
    return sorted(target / name for name in files)


_BAD_GOOD_ROWS = [
    "2024-02-03,store_07,dairy,milk,2,139",
    "2024-02-03,store_07,bakery,bread,1,249",
    "2024-02-04,store_07,snacks,chips,3,279",
    "2024-02-04,store_07,produce,apples,1,299",
]
_HEADER = ",".join(COLUMNS)


def write_bad_files(folder: str | os.PathLike[str]) -> dict[Path, str]:
    """Add three broken files to ``folder``; return ``{path: what is wrong with it}``.

    * ``broken_empty.csv`` - zero bytes, not even a header;
    * ``broken_bad_number.csv`` - a header, good rows, and on line 4 ``units`` is ``"two"``;
    * ``broken_wrong_columns.csv`` - on line 5 a row with a field missing.

    The contents do not depend on the scale, so the reasons a report gives are the same at
    every scale. Together with :func:`missing_path` a notebook can show all three kinds of
    bad input: missing, empty and malformed.
    """
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    g = _BAD_GOOD_ROWS
    contents = {
        "broken_empty.csv": ("", "empty file: no header, no rows"),
        "broken_bad_number.csv": (
            "\n".join([_HEADER, g[0], g[1], "2024-02-04,store_07,snacks,chips,two,279", g[3]])
            + "\n",
            "line 4: units 'two' is not a whole number",
        ),
        "broken_wrong_columns.csv": (
            "\n".join([_HEADER, g[0], g[1], g[2], "2024-02-04,store_07,produce,apples,1", g[3]])
            + "\n",
            "line 5: row has 5 fields, expected 6",
        ),
    }
    bad: dict[Path, str] = {}
    for name, (text, reason) in contents.items():
        path = target / name
        _write_atomically(path, text)
        bad[path] = reason
    return bad


def missing_path(folder: str | os.PathLike[str]) -> Path:
    """A path in ``folder`` that does not exist (``no_such_file.csv``): the third bad input."""
    path = Path(folder) / "no_such_file.csv"
    if path.exists():
        raise FileExistsError(f"{path} exists; remove it to use it as the missing file")
    return path
