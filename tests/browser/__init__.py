"""Browser tests (JupyterLab in Chromium): ``make test-browser``; ``make test`` skips them."""
