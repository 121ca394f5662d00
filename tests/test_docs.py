"""The README fits on a few screens, and the docs site (mkdocs.yml, docs/) builds in strict
mode: no broken link or anchor, no page left out of the nav."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def build(config: Path, site: Path) -> subprocess.CompletedProcess:
    """``mkdocs build --strict`` of ``config`` into ``site``; output kept for the message."""
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file"]
    return subprocess.run(
        [*command, str(config), "--site-dir", str(site)],
        check=False,
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )


def nav_pages(nav: list) -> set[str]:
    """Every Markdown file the nav names, at any depth."""
    pages: set[str] = set()
    for entry in nav:
        values = entry.values() if isinstance(entry, dict) else [entry]
        for value in values:
            pages |= nav_pages(value) if isinstance(value, list) else {value}
    return pages


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The site built from the repository as it is, once for this module."""
    folder = tmp_path_factory.mktemp("site")
    result = build(ROOT / "mkdocs.yml", folder)
    assert result.returncode == 0, result.stdout + result.stderr
    return folder


def test_the_site_builds_in_strict_mode(site) -> None:
    assert (site / "index.html").is_file()
    assert (site / "benchmarks" / "index.html").is_file()  # the generated latest run
    assert (site / "screenshots" / "first-launch.png").is_file()


def test_a_broken_link_fails_the_build(tmp_path) -> None:
    shutil.copytree(DOCS, tmp_path / "docs")
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    with open(tmp_path / "docs" / "layout.md", "a") as page:
        page.write("\n[gone](no-such-page.md) and [no anchor](proof.md#no-such-anchor)\n")
    result = build(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert result.returncode != 0
    assert "no-such-page.md" in result.stderr and "no-such-anchor" in result.stderr


def test_every_docs_page_is_in_the_nav() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    assert config["strict"] is True and config["theme"]["name"] == "material"
    pages = {str(path.relative_to(DOCS)) for path in DOCS.rglob("*.md")}
    assert nav_pages(config["nav"]) == pages


def test_the_readme_is_short_and_its_links_resolve(site) -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    for target in re.findall(r"\]\((docs/[^)\s]+)\)", readme):
        path, _, anchor = target.partition("#")
        assert (ROOT / path).is_file(), target
        if anchor and path.endswith(".md"):
            page = site / Path(path).relative_to("docs").with_suffix("") / "index.html"
            assert f'id="{anchor}"' in page.read_text(), target
