"""`newsdesk ingest` and `newsdesk db` end to end, as a user runs them (a real subprocess)."""

from __future__ import annotations

import json
import shutil
import sqlite3
import sys
from pathlib import Path

from app.db import downgrade_database, head_revision, upgrade_database
from tests.clients import run_newsdesk
from tests.helpers import SEEDS_DIR, ingest_paths, settings_for

NEWSDESK = [sys.executable, "-m", "app.cli"]


def count(db_path: Path, table: str) -> int:
    with sqlite3.connect(db_path) as connection:
        return int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_second_ingest_of_the_same_files_changes_nothing(tmp_path: Path) -> None:
    db_path = tmp_path / "cli.db"
    url = f"sqlite:///{db_path}"
    first = run_newsdesk("ingest", "--no-nlp", str(SEEDS_DIR), database_url=url)
    assert first.returncode == 0, first.stderr
    assert "5 added, 0 updated, 0 unchanged, 0 failed" in first.stdout
    second = run_newsdesk("ingest", "--no-nlp", str(SEEDS_DIR), database_url=url)
    assert second.returncode == 0, second.stderr
    assert "0 added, 0 updated, 5 unchanged, 0 failed" in second.stdout
    assert count(db_path, "article") == 5


def test_a_changed_file_updates_its_article(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    shutil.copytree(SEEDS_DIR, folder)
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    settings = settings_for(url)
    upgrade_database(url)
    ingest_paths(settings, folder, nlp=False)
    seed = next(folder.glob("003_*.txt"))
    seed.write_text(seed.read_text() + "\n\nA paragraph added in a correction.\n")
    report = ingest_paths(settings, folder, nlp=False)
    assert (report.added, report.updated, report.unchanged) == (0, 1, 4)  # type: ignore[attr-defined]
    assert count(tmp_path / "db.sqlite", "article") == 5
    with sqlite3.connect(tmp_path / "db.sqlite") as connection:
        hits = connection.execute(
            "SELECT count(*) FROM article_fts WHERE article_fts MATCH 'correction'"
        ).fetchone()[0]
    assert hits == 1


def test_copies_differing_only_in_whitespace_do_not_flip_on_reingest(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    text = next(SEEDS_DIR.glob("003_*.txt")).read_text()
    (folder / "a.txt").write_text(text)
    (folder / "b.txt").write_text(text.replace("Putin said", "Putin  said"))
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    upgrade_database(url)
    ingest_paths(settings_for(url), folder, nlp=False)
    report = ingest_paths(settings_for(url), folder, nlp=False)
    assert (report.added, report.updated, report.unchanged) == (0, 0, 2)  # type: ignore[attr-defined]


def test_the_same_text_under_two_names_is_stored_once(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    original = next(SEEDS_DIR.glob("003_*.txt"))
    shutil.copyfile(original, folder / "a.txt")
    shutil.copyfile(original, folder / "b.txt")
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    upgrade_database(url)
    report = ingest_paths(settings_for(url), folder, nlp=False)
    assert report.added == 1 and report.unchanged == 1  # type: ignore[attr-defined]
    with sqlite3.connect(tmp_path / "db.sqlite") as connection:
        (origins,) = connection.execute("SELECT origins FROM article").fetchone()
    assert "a.txt" in origins and "b.txt" in origins


def test_missing_path_is_reported_with_exit_code_2(tmp_path: Path) -> None:
    result = run_newsdesk(
        "ingest", str(tmp_path / "nowhere"), database_url=f"sqlite:///{tmp_path / 'x.db'}"
    )
    assert result.returncode == 2
    assert "No such file or folder" in result.stderr


def test_migrations_go_down_and_up_again_on_a_populated_database(tmp_path: Path) -> None:
    db_path = tmp_path / "migrate.db"
    url = f"sqlite:///{db_path}"
    upgrade_database(url)
    ingest_paths(settings_for(url), SEEDS_DIR, nlp=False)
    downgrade_database(url, "0001")
    assert count(db_path, "article") == 5
    upgrade_database(url)
    with sqlite3.connect(db_path) as connection:
        hits = connection.execute(
            "SELECT count(*) FROM article_fts WHERE article_fts MATCH 'Medvedev'"
        ).fetchone()[0]
    assert hits == 1, "the full-text index is rebuilt for existing rows"
    downgrade_database(url, "base")
    with sqlite3.connect(db_path) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    assert not tables & {"article", "entity", "source", "article_fts"}
    upgrade_database(url)
    assert count(db_path, "article") == 0
    result = run_newsdesk("db", "current", database_url=url)
    assert result.stdout.strip() == head_revision()


def test_files_of_unsupported_types_are_counted_as_skipped(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    (folder / "world").mkdir(parents=True)
    for seed in SEEDS_DIR.glob("000_*"):
        shutil.copy(seed, folder / "world" / seed.name)
    (folder / "world" / "scan.pdf").write_bytes(b"%PDF-1.4")
    (folder / "world" / "photo.png").write_bytes(b"\x89PNG")
    (folder / "notes.md").write_text("# not an article\n")
    (folder / "Makefile").write_text("all:\n")
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    result = run_newsdesk("ingest", "--no-nlp", str(folder), database_url=url)
    assert result.returncode == 0, result.stderr
    assert "1 added, 0 updated, 0 unchanged, 0 failed, 4 skipped (1 files" in result.stdout
    stderr = " ".join(result.stderr.split())  # rich wraps long lines
    assert "4 files of types ingest does not read" in stderr
    for kind in ("1 .pdf", "1 .png", "1 .md", "1 (no extension)"):
        assert kind in stderr, kind
    assert count(tmp_path / "db.sqlite", "article") == 1


def test_dry_run_shows_the_entities_ingest_would_recognise(tmp_path: Path) -> None:
    seed = next(SEEDS_DIR.glob("000_*.txt"))
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    wide = {"COLUMNS": "2000"}  # one table row per line
    dry = run_newsdesk("ingest", "--dry-run", str(seed), database_url=url, **wide)
    assert dry.returncode == 0, dry.stderr
    row = next(line for line in dry.stdout.splitlines() if "│ entities" in line)
    assert not (tmp_path / "db.sqlite").exists() or count(tmp_path / "db.sqlite", "article") == 0

    stored = run_newsdesk("ingest", str(seed), database_url=url)
    assert stored.returncode == 0, stored.stderr
    with sqlite3.connect(tmp_path / "db.sqlite") as connection:
        people = [
            name
            for (name,) in connection.execute(
                "SELECT DISTINCT e.name FROM entity e JOIN article_entity ae "
                "ON ae.entity_id = e.id WHERE e.type = 'person'"
            )
        ]
    assert people, "the seed names people"
    for name in people:
        assert f"{name} (person, " in row, name

    plain = run_newsdesk("ingest", "--dry-run", "--no-nlp", str(seed), database_url=url, **wide)
    assert plain.returncode == 0, plain.stderr
    assert "│ entities" not in plain.stdout
    assert "│ title" in plain.stdout


def test_a_file_named_directly_takes_its_sidecar(tmp_path: Path) -> None:
    """The sidecar beside a file named on the command line is inside what the user gave
    (it was refused as 'a symlink out of the ingest root')."""
    seed = next(SEEDS_DIR.glob("000_*.txt"))
    sidecar = json.loads(seed.with_suffix(".json").read_text())
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    result = run_newsdesk("ingest", "--no-nlp", str(seed), database_url=url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 added, 0 updated, 0 unchanged, 0 failed" in result.stdout
    with sqlite3.connect(tmp_path / "db.sqlite") as connection:
        url_stored, publisher = connection.execute(
            "SELECT a.url, s.name FROM article a JOIN source s ON s.id = a.source_id"
        ).fetchone()
    assert url_stored == sidecar["url"]
    assert publisher == sidecar["publisher"]
