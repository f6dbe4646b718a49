"""Keep the browser tests out of ordinary runs.

``tests/browser/`` starts JupyterLab and Chromium (a couple of minutes): ``make test`` does
not collect it; ``make test-browser`` runs it by naming the folder
(``pytest tests/browser``), which is the only way it is collected.
"""

from __future__ import annotations

from pathlib import Path

import pytest

BROWSER_TESTS = Path(__file__).resolve().parent / "browser"


def _asked_for_browser_tests(config: pytest.Config) -> bool:
    here = config.invocation_params.dir
    for arg in config.args:
        path = (here / arg.split("::")[0]).resolve()
        if path == BROWSER_TESTS or BROWSER_TESTS in path.parents:
            return True
    return False


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if collection_path == BROWSER_TESTS and not _asked_for_browser_tests(config):
        return True
    return None
