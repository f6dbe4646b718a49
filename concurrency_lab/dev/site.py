"""Build the course's static site (``make site``) and check its links.

    python -m concurrency_lab.dev.site            # build/site/index.html
    python -m concurrency_lab.dev.site --external # also ask every external link (online)

1. **Stage** the course into ``build/site-src/`` with :func:`concurrency_lab.dev.stage.stage`:
   lessons and solutions as committed, exercises generated from the solutions (what a new
   student gets), plus the pages of ``site/`` (``index.md``; ``site/conf.py`` configures).
2. **Build** with Sphinx + MyST-NB (``site/README.md`` says why this tool), warnings as
   errors: a link to a notebook that does not exist, a broken toctree or a notebook that
   cannot be read fails the build. Notebooks are rendered with their stored outputs.
3. **Check links** in the built HTML: every relative ``href``/``src`` (pages, images,
   stylesheets, scripts, downloads) must name a file of the site, and every ``#anchor`` an
   element of its page. External links are listed and, with ``--external``, checked by
   Sphinx's ``linkcheck`` builder (this needs the internet; the course's build machine
   has none, so it is not part of ``make site``).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from concurrency_lab.dev.nbtesting import ROOT
from concurrency_lab.dev.stage import stage

SITE_CONFIG = ROOT / "site"
SOURCE = ROOT / "build" / "site-src"
OUTPUT = ROOT / "build" / "site"
FOLDERS = ("notebooks", "solutions", "exercises")


@dataclass
class Page:
    """What one built HTML page links to and which anchors it offers."""

    links: list[tuple[str, str]] = field(default_factory=list)  # (tag.attr, url)
    ids: set[str] = field(default_factory=set)
    images: list[str] = field(default_factory=list)


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for key in ("id", "name"):
            if found.get(key) and (key == "id" or tag == "a"):
                self.page.ids.add(str(found[key]))
        for attr in ("href", "src"):
            value = found.get(attr)
            if value and not (tag == "link" and found.get("rel") in {"preconnect", "dns-prefetch"}):
                self.page.links.append((f"{tag}.{attr}", value))
        if tag == "img" and found.get("src"):
            self.page.images.append(str(found["src"]))


def read_page(path: Path) -> Page:
    """Parse one HTML file."""
    collector = _Collector()
    collector.feed(path.read_text(encoding="utf-8", errors="replace"))
    return collector.page


def site_pages(site: Path) -> list[Path]:
    """The site's pages: its HTML files, less the theme's templates under ``_static/``."""
    return [p for p in sorted(site.rglob("*.html")) if "_static" not in p.relative_to(site).parts]


def check_links(site: Path) -> tuple[list[str], set[str]]:
    """Every broken relative link of the site as a sentence, and the external URLs seen."""
    pages = {p: read_page(p) for p in site_pages(site)}
    broken: list[str] = []
    external: set[str] = set()
    for path, page in pages.items():
        where = path.relative_to(site)
        for what, url in page.links:
            parts = urlsplit(url)
            if parts.scheme in {"http", "https"}:
                external.add(url)
                continue
            if parts.scheme or url.startswith("//"):  # mailto:, data:, javascript:
                continue
            target = path if not parts.path else (path.parent / unquote(parts.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{where}: {what}={url!r} names a missing file")
                continue
            if parts.fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else read_page(target).ids
                if unquote(parts.fragment) not in ids:
                    broken.append(f"{where}: {what}={url!r}: no #{parts.fragment} on that page")
    return broken, external


def build(
    *,
    external: bool = False,
    quiet: bool = True,
    source: Path = SOURCE,
    output: Path = OUTPUT,
) -> int:
    """Stage into ``source``, build into ``output``, check; return an exit code (0: sound)."""
    t0 = time.perf_counter()
    shutil.rmtree(source, ignore_errors=True)
    stage(source, FOLDERS)
    for page in SITE_CONFIG.glob("*.md"):
        if page.name != "README.md":
            shutil.copyfile(page, source / page.name)
    shutil.rmtree(output, ignore_errors=True)
    sphinx = [sys.executable, "-m", "sphinx", "-c", str(SITE_CONFIG), "-W", "--keep-going"]
    if quiet:
        sphinx.append("-q")
    result = subprocess.run([*sphinx, "-b", "html", str(source), str(output)], check=False)
    if result.returncode != 0:
        print("make site: Sphinx reported the problems above", file=sys.stderr)
        return result.returncode
    broken, urls = check_links(output)
    pages = site_pages(output)
    images = sum(len(read_page(p).images) for p in pages)
    print(
        f"site: {output}/index.html · {len(pages)} pages · {images} images · "
        f"{len(urls)} external links · built in {time.perf_counter() - t0:.0f} s"
    )
    if broken:
        print(f"{len(broken)} broken link(s):", *broken, sep="\n  ", file=sys.stderr)
        return 1
    print("links: every page, image, anchor and download inside the site resolves")
    if external:
        check = subprocess.run(
            [*sphinx, "-b", "linkcheck", str(source), str(output.parent / "site-linkcheck")],
            check=False,
        )
        return check.returncode
    print("external links: not checked (run with --external where the internet is reachable)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the course's static site into build/site/")
    parser.add_argument(
        "--external", action="store_true", help="also check external links (needs the internet)"
    )
    parser.add_argument("--verbose", action="store_true", help="show Sphinx's progress")
    args = parser.parse_args(argv)
    return build(external=args.external, quiet=not args.verbose)


if __name__ == "__main__":
    raise SystemExit(main())
