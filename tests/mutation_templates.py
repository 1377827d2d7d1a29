"""Template databases shared between the mutant runs of `make mutation`, when that is safe.

mutmut runs each mutant's tests in a fresh pytest session, so every session fixture, the
seeded template above all (spaCy over the seeds, duplicates, linking, the index), is
built again for every mutant. A template built by the unmutated code is only the right
one for a mutant whose function never ran while it was built: then the mutant can not
have changed a byte of it. So the first build records which mutable functions it ran
(mutmut's copies of the originals, `<name>__mutmut_orig`) and is kept under
mutants/template-cache/; later runs copy it unless their mutant's function is among
those, and build their own (with the mutant active) when it is.

Outside a mutant run (an ordinary `pytest`) this only calls the builder.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

ORIGINAL = "__mutmut_orig"
# mutmut runs the tests from inside mutants/: the cache lives beside its results.
CACHE = Path("template-cache")
# What a template is built from: when any of it changes (mutmut rewrote app/, a new seed,
# a new migration, another builder), the cached templates are not used.
# The builders are the fixtures and the helpers and backends they call.
INPUTS = [
    "app",
    "migrations",
    "data/articles",
    "data/aliases.csv",
    "tests/conftest.py",
    "tests/helpers.py",
    "tests/backends.py",
]


def active_mutant() -> str | None:
    mutant = os.environ.get("MUTANT_UNDER_TEST", "")
    return mutant if "__mutmut_" in mutant else None


def build_template(name: str, path: Path, build: Callable[[Path], None]) -> None:
    """Build the template `name` at `path` (and its `.index` beside it), from the cache when
    the active mutant can not have changed it."""
    mutant = active_mutant()
    if mutant is None:
        build(path)
        return
    function = mutant.rpartition("__mutmut_")[0]
    folder = CACHE / f"{name}-{inputs_digest()}"
    if not (folder / "ran.json").exists():
        ran = build_unmutated(path, build)
        keep(folder, path, ran)
        if function not in ran:
            return
        remove(path)
    elif function not in json.loads((folder / "ran.json").read_text()):
        restore(folder, path)
        return
    build(path)


def build_unmutated(path: Path, build: Callable[[Path], None]) -> set[str]:
    """Build with no mutant active; the mutable functions that ran (module.mangled name)."""
    ran: set[str] = set()

    def note(frame: FrameType, event: str, arg: Any) -> None:
        name = frame.f_code.co_name
        if event == "call" and name.endswith(ORIGINAL):
            ran.add(f"{frame.f_globals['__name__']}.{name.removesuffix(ORIGINAL)}")

    mutant = os.environ["MUTANT_UNDER_TEST"]
    os.environ["MUTANT_UNDER_TEST"] = ""
    sys.setprofile(note)
    threading.setprofile(note)  # type: ignore[arg-type]
    try:
        build(path)
    finally:
        sys.setprofile(None)
        threading.setprofile(None)  # type: ignore[arg-type]
        os.environ["MUTANT_UNDER_TEST"] = mutant
    return ran


def parts(path: Path) -> list[Path]:
    return [path, path.with_suffix(".index")]


def keep(folder: Path, path: Path, ran: set[str]) -> None:
    """Store the template; written to a temporary folder and renamed, as two runs may race."""
    staging = folder.with_name(f"{folder.name}.{os.getpid()}")
    staging.mkdir(parents=True, exist_ok=True)
    for part in parts(path):
        if part.is_dir():
            shutil.copytree(part, staging / part.name)
        elif part.exists():
            shutil.copyfile(part, staging / part.name)
    (staging / "path").write_text(path.name)
    (staging / "ran.json").write_text(json.dumps(sorted(ran)))
    try:
        staging.rename(folder)
    except OSError:  # another run kept it first
        shutil.rmtree(staging, ignore_errors=True)


def restore(folder: Path, path: Path) -> None:
    source = folder / (folder / "path").read_text()
    for part, target in zip(parts(source), parts(path), strict=True):
        if part.is_dir():
            shutil.copytree(part, target)
        elif part.exists():
            shutil.copyfile(part, target)


def remove(path: Path) -> None:
    for part in parts(path):
        if part.is_dir():
            shutil.rmtree(part)
        else:
            part.unlink(missing_ok=True)
    for suffix in ("-wal", "-shm", "-journal"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


_digest: str | None = None


def inputs_digest() -> str:
    global _digest
    if _digest is None:
        digest = hashlib.blake2b(digest_size=8)
        for root in INPUTS:
            base = Path(root)
            files = sorted(base.rglob("*")) if base.is_dir() else [base]
            for file in files:
                # mutmut keeps its results beside the code (.meta): those change every run.
                if file.is_file() and "__pycache__" not in file.parts and file.suffix != ".meta":
                    digest.update(str(file).encode() + b"\0" + file.read_bytes())
        _digest = digest.hexdigest()
    return _digest
