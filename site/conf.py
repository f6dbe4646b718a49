"""Sphinx configuration of the course's static site (``make site``; see site/README.md).

The build script (``python -m concurrency_lab.dev.site``) stages the course into
``build/site-src/`` (lessons and solutions as committed, exercises generated from the
solutions, this folder's pages) and runs Sphinx there with this file; the site lands in
``build/site/``. Notebooks are rendered with their STORED outputs: nothing is executed.
"""

from __future__ import annotations

project = "Python concurrency course"
author = "the course's authors"
copyright = "2026, the course's authors"

extensions = ["myst_nb"]

# Stored outputs only: the pages show what `make notebooks` ran at lecture scale.
nb_execution_mode = "off"
# Consecutive prints of a cell in one box, as JupyterLab shows them.
nb_merge_streams = True
# Only the course's folders and pages; never anything else that sits in the stage.
exclude_patterns = ["_build", "**/.ipynb_checkpoints", "**/*_worker*.py"]
# Widgets (the explorer) have no saved state in the notebooks: their text form is shown.
suppress_warnings = ["mystnb.unknown_mime_type"]
myst_heading_anchors = 3

html_theme = "sphinx_book_theme"
html_title = "Python concurrency course"
html_theme_options = {
    "show_toc_level": 2,
    "use_download_button": True,  # the .ipynb of each page, to run it yourself
    "home_page_in_toc": True,
}
html_copy_source = True
html_show_sourcelink = False
html_last_updated_fmt = None
# No web fonts, analytics or CDN files are fetched at build time (the build works offline).
