"""The scale-out recipe (docker-compose.yml, deploy/) holds together without a container
engine: every service, volume and file it names exists, the load balancer sends to the two
API nodes, the replica copies the primary with the user the primary's init script creates,
and every setting it gives the app is one the app reads, with a value the app accepts.

No Docker engine runs where the tests run (podman neither); the recipe was written for the
postgres:15 and haproxy:2.9 official images.
"""

from __future__ import annotations

import os
import re
from typing import Any

import pytest
import yaml
from pydantic import ValidationError
from sqlalchemy.engine import make_url

from app.config import PROJECT_ROOT, Settings

COMPOSE = PROJECT_ROOT / "docker-compose.yml"
API_NODES = ["api-a", "api-b"]
# Settings the images read themselves, not the app: the postgres image's, the collector's.
NOT_THE_APPS = {"MALLOC_ARENA_MAX", "PGPASSWORD", "PGDATA", "PRIMARY_HOST", "REPLICATION_USER"}
POSTGRES_IMAGE_SETTINGS = {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"}


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    recipe = yaml.safe_load(COMPOSE.read_text())
    found: dict[str, Any] = recipe["services"]
    return found


def substituted(value: str) -> str:
    """A compose value with ${NAME:-default} replaced by its default (what a user who sets
    nothing gets)."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


def env(service: dict[str, Any]) -> dict[str, str]:
    return {key: substituted(str(value)) for key, value in service["environment"].items()}


def mounts(service: dict[str, Any]) -> dict[str, str]:
    """A service's volumes: where each is mounted, by source (a named volume or a path)."""
    return {entry.split(":")[0]: entry.split(":")[1] for entry in service.get("volumes", [])}


def test_every_service_volume_and_file_the_recipe_names_exists(services: dict[str, Any]) -> None:
    recipe = yaml.safe_load(COMPOSE.read_text())
    for name, service in services.items():
        for needed in service.get("depends_on", []):
            assert needed in services, (name, needed)
        for source in mounts(service):
            if source.startswith("."):
                assert (PROJECT_ROOT / source).exists(), (name, source)
            else:
                assert source in recipe["volumes"], (name, source)
    named = {source for s in services.values() for source in mounts(s) if source[0] != "."}
    assert named == set(recipe["volumes"])  # none missing, none left over


def balancer_servers() -> list[tuple[str, int]]:
    config = (PROJECT_ROOT / "deploy" / "haproxy.cfg").read_text()
    return [
        (host, int(port))
        for host, port in re.findall(r"^\s*server\s+\S+\s+([\w-]+):(\d+)", config, re.M)
    ]


def test_the_load_balancer_sends_to_the_two_api_nodes_when_they_are_ready(
    services: dict[str, Any],
) -> None:
    lb = services["lb"]
    assert mounts(lb)["./deploy/haproxy.cfg"] == "/usr/local/etc/haproxy/haproxy.cfg"
    assert set(lb["depends_on"]) == set(API_NODES)
    ports = {name: int(services[name]["command"][-1].split("--port ")[1]) for name in API_NODES}
    assert balancer_servers() == [(name, ports[name]) for name in API_NODES]
    config = (PROJECT_ROOT / "deploy" / "haproxy.cfg").read_text()
    assert "option httpchk GET /readyz" in config  # a node not ready gets no requests
    published = lb["ports"][0].split(":")[-1]
    assert re.search(rf"^\s*bind\s+:{published}$", config, re.M)


def test_the_replica_copies_the_primary_as_its_init_script_allows(
    services: dict[str, Any],
) -> None:
    primary, replica = env(services["postgres"]), env(services["replica"])
    assert replica["PRIMARY_HOST"] == "postgres"
    assert replica["REPLICATION_USER"] == primary["REPLICATION_USER"]
    assert replica["PGPASSWORD"] == primary["REPLICATION_PASSWORD"]
    init = (PROJECT_ROOT / "deploy/postgres/primary-init.sh").read_text()
    assert mounts(services["postgres"])["./deploy/postgres/primary-init.sh"].startswith(
        "/docker-entrypoint-initdb.d/"
    )
    # The role it creates and the pg_hba.conf line it adds are the replica's.
    assert 'CREATE ROLE :"user" WITH REPLICATION LOGIN' in init
    assert '-v user="$REPLICATION_USER"' in init
    assert 'echo "host replication $REPLICATION_USER all' in init
    start = (PROJECT_ROOT / "deploy/postgres/replica-start.sh").read_text()
    assert services["replica"]["command"] == ["sh", mounts(services["replica"])[
        "./deploy/postgres/replica-start.sh"
    ]]  # fmt: skip
    for used in (
        '--host="$PRIMARY_HOST"',
        '--username="$REPLICATION_USER"',
        "--write-recovery-conf",
    ):
        assert used in start
    assert replica["PGDATA"] == mounts(services["replica"])["pgreplica"]


def app_settings(values: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The app's settings from exactly these environment variables."""
    for name in [name for name in os.environ if name.startswith("NEWSDESK_")]:
        monkeypatch.delenv(name)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return Settings(_env_file=None)  # type: ignore[call-arg]


def read_names() -> set[str]:
    """Every environment variable name the app's settings read."""
    names = set()
    for name, field in Settings.model_fields.items():
        names.add(f"NEWSDESK_{name.upper()}")
        choices = getattr(field.validation_alias, "choices", [])
        names.update(str(choice) for choice in choices)
    return names


@pytest.mark.parametrize("name", ["ingest", "collector", *API_NODES])
def test_every_setting_an_app_service_gets_is_read_and_accepted(
    services: dict[str, Any], name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    given = {key: value for key, value in env(services[name]).items() if key not in NOT_THE_APPS}
    assert set(given) <= read_names(), set(given) - read_names()
    try:
        settings = app_settings(given, monkeypatch)
    except ValidationError as error:
        raise AssertionError(f"{name}: {error}") from None
    primary = env(services["postgres"])
    writes = make_url(settings.database_url)
    assert (writes.host, writes.username, writes.database) == (
        "postgres",
        primary["POSTGRES_USER"],
        primary["POSTGRES_DB"],
    )
    assert writes.password == primary["POSTGRES_PASSWORD"]
    if name in API_NODES:
        reads = make_url(settings.reading_url)
        assert (reads.host, reads.database, reads.password) == (
            "replica",
            writes.database,
            writes.password,
        )
        # Its index in its own volume, under the folder that volume is mounted on.
        assert settings.search_index_dir is not None
        [target] = mounts(services[name]).values()
        assert settings.search_index_dir.is_relative_to(target)
        assert settings.search_index_behind == "database"  # see the recipe's comment
    else:
        assert settings.read_database_url is None and settings.search_index_dir is None


def test_each_api_node_keeps_its_index_in_a_volume_of_its_own(services: dict[str, Any]) -> None:
    volumes = [next(iter(mounts(services[name]))) for name in API_NODES]
    assert len(set(volumes)) == len(API_NODES)
    users = [name for name, service in services.items() if set(mounts(service)) & set(volumes)]
    assert sorted(users) == sorted(API_NODES)
