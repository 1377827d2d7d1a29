"""The mutation check (`make mutation`): run mutmut on the modules that decide answers, then
write docs/mutation.md.

A mutant that survives is either a missing test or a change that cannot alter behaviour.
The first gets a test (in a tests/**/test_*_mutants.py file, so the report can name it);
the second gets an entry in docs/mutation-equivalent.toml with the reason. Entries are
matched by module, function and the text of the changed lines, not by mutmut's numbered
names, which shift whenever a function gains or loses a mutation point.

    python scripts/mutation.py run [--module app/search/cursor.py ...] [--all]
    python scripts/mutation.py report [--check]

The modules of POSTGRES_MODULES (the index sync) run on PostgreSQL too, so their run needs
TEST_DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test).

`run` is incremental: it passes mutmut only the mutants in scope that have no result yet,
or survived (or had no test) without an explanation, so an interrupted run goes on where it
stopped and a rerun after new tests checks just those survivors. `--all` checks every
mutant in scope again.

mutmut keeps its results in mutants/, which is not committed. After each run the outcomes
are also written to docs/mutation-results.json, with the hash mutmut gives each mutated
function (of its syntax tree): a new checkout starts from that record, and a result counts
only while its function's hash is unchanged, so a changed function's mutants run again. A
new test does not void a kill; a deleted one is noticed only by `run --all`.
"""

from __future__ import annotations

import argparse
import difflib
import functools
import json
import os
import subprocess
import sys
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "docs" / "mutation.md"
EXPLANATIONS = ROOT / "docs" / "mutation-equivalent.toml"
# The committed record of outcomes (see the module docstring).
RECORD = ROOT / "docs" / "mutation-results.json"
# Beside mutmut's results: the first failing test of each mutant run (tests/mutation_killers.py)
# and, from runs before the record existed, the mutants seen surviving.
KILLED_BY = ROOT / "mutants" / "killed-by"
SURVIVORS_SEEN = ROOT / "mutants" / "survivors-seen.json"
# mutmut's map of the tests that call each function, and the functions it was last made for.
STATS = ROOT / "mutants" / "mutmut-stats.json"
TRACED = ROOT / "mutants" / "traced-functions.json"
MUTMUT = Path(sys.executable).parent / "mutmut"

# The modules that decide answers, and the functions of each in scope (None: all of them).
# articles.py and index.py also page and rank; only what applies a filter is in scope here.
SCOPE: dict[str, list[str] | None] = {
    "app/search/query.py": None,
    "app/api/filters.py": None,
    "app/search/filter.py": None,
    "app/search/articles.py": ["matching_ids", "count_articles", "sort_key_check"],
    "app/search/tantivy/index.py": ["SearchIndex.compile"],
    "app/search/cursor.py": None,
    "app/ingest/entities/linking.py": None,
    "app/ingest/entities/names.py": None,
    "app/ingest/store/duplicates.py": None,
    "app/search/tantivy/sync.py": None,
}

# Modules with a PostgreSQL half: their mutants run on PostgreSQL too (TEST_DATABASE_URL
# must name a server), the others on SQLite alone. mutmut notices the PostgreSQL tests
# coming and going with the server and maps them to what they call when they come.
POSTGRES_MODULES = {"app/search/tantivy/sync.py"}

# mutmut's exit codes, as its own `results` reads them (mutmut/stats.py).
KILLED, SURVIVED, NO_TESTS, NOT_RUN, TIMEOUT, OTHER = (
    "killed",
    "survived",
    "no tests",
    "not run",
    "timeout",
    "other",
)
STATUS_BY_CODE: dict[int | None, str] = {
    1: KILLED,
    3: KILLED,
    0: SURVIVED,
    5: NO_TESTS,
    33: NO_TESTS,
    None: NOT_RUN,
    36: TIMEOUT,
    -24: TIMEOUT,
    24: TIMEOUT,
    152: TIMEOUT,
    255: TIMEOUT,
}
# Not caught by any test: these need a new test or an explanation.
UNCAUGHT = {SURVIVED, NO_TESTS}
# A result written back into mutmut's own record (mutants/*.meta) from ours.
CODE_BY_STATUS = {KILLED: 1, SURVIVED: 0, NO_TESTS: 33, TIMEOUT: 36}


@dataclass(frozen=True)
class Mutant:
    name: str  # mutmut's, e.g. app.search.cursor.xǁCursorCodecǁdecode__mutmut_3
    module: str  # app/search/cursor.py
    function: str  # CursorCodec.decode
    status: str

    @property
    def number(self) -> int:
        return int(self.name.rpartition("__mutmut_")[2])


def function_of(name: str) -> str:
    """`Class.method` or `function` from a mutmut mutant name."""
    mangled = name.rpartition(".")[2].rpartition("__mutmut_")[0]
    if mangled.startswith("xǁ"):
        return ".".join(mangled[2:].split("ǁ"))
    return mangled.removeprefix("x_")


def pattern_of(module: str, function: str | None) -> str:
    """The mutmut name pattern of a module's mutants (or of one function's)."""
    dotted = module.removesuffix(".py").replace("/", ".")
    if function is None:
        return f"{dotted}.*"
    if "." in function:
        cls, method = function.split(".")
        return f"{dotted}.xǁ{cls}ǁ{method}__mutmut_*"
    return f"{dotted}.x_{function}__mutmut_*"


def in_scope(module: str, function: str) -> bool:
    functions = SCOPE[module]
    return functions is None or function in functions


def mangled_of(name: str) -> str:
    """mutmut's key of a mutant's function: `x_function` or `xǁClassǁmethod`."""
    return name.rpartition(".")[2].partition("__mutmut_")[0]


def short_of(name: str) -> str:
    """A mutant's name without its module, as the record keeps it."""
    return name.rpartition(".")[2]


@dataclass(frozen=True)
class Source:
    """A module as it is now: mutmut's mutated copy, its mutants, each function's hash."""

    module: str
    mutated: str
    names: list[str]
    hashes: dict[str, str]


@functools.cache
def source_of(module: str) -> Source:
    """The mutants mutmut makes of the module's current code (the same names and hashes as
    `mutmut run`), without running anything or needing mutants/."""
    from mutmut.mutation.file_mutation import mutate_file_contents

    mutated = mutate_file_contents(module, (ROOT / module).read_text())
    dotted = module.removesuffix(".py").replace("/", ".")
    names = [f"{dotted}.{name}" for name in mutated.mutant_names]
    return Source(module, mutated.code, names, dict(mutated.hash_by_function_name))


def meta_path(module: str) -> Path:
    return ROOT / "mutants" / f"{module}.meta"


def load_meta(module: str) -> dict[str, Any] | None:
    path = meta_path(module)
    return json.loads(path.read_text()) if path.exists() else None


def load_record() -> dict[str, Any]:
    if not RECORD.exists():
        return {}
    modules: dict[str, Any] = json.loads(RECORD.read_text())["modules"]
    return modules


def results(module: str, record: dict[str, Any]) -> list[Mutant]:
    """The module's mutants in scope, each with its last result that still holds: mutmut's
    (mutants/) or the record's, whichever was taken while its function had today's hash."""
    source = source_of(module)
    meta = load_meta(module) or {"hash_by_function_name": {}, "exit_code_by_key": {}}
    entry = record.get(module, {"functions": {}, "mutants": {}})
    found = []
    for name in source.names:
        function = function_of(name)
        if not in_scope(module, function):
            continue
        current = source.hashes.get(mangled_of(name))
        status = NOT_RUN
        if meta["hash_by_function_name"].get(mangled_of(name)) == current:
            code = meta["exit_code_by_key"].get(name)
            if code is not None:
                status = STATUS_BY_CODE.get(code, OTHER)
        if status == NOT_RUN and entry["functions"].get(mangled_of(name)) == current:
            status = entry["mutants"].get(short_of(name), NOT_RUN)
        found.append(Mutant(name, module, function, status))
    return sorted(found, key=lambda m: (m.function, m.number))


def survived_once(module: str, record: dict[str, Any], mutants: list[Mutant]) -> set[str]:
    """Every mutant of the module seen surviving (or without a test), so the report can name
    the test that kills it now."""
    legacy = set(json.loads(SURVIVORS_SEEN.read_text())) if SURVIVORS_SEEN.exists() else set()
    recorded = {m for m in record.get(module, {}).get("survived_once", [])}
    current = {m.name for m in mutants}
    return (
        {m.name for m in mutants if m.status in UNCAUGHT}
        | (legacy & current)
        | {name for name in current if short_of(name) in recorded}
    )


def killer_of(mutant: Mutant, record: dict[str, Any]) -> str | None:
    path = KILLED_BY / mutant.name
    if path.exists():
        return path.read_text().strip()
    killer: str | None = (
        record.get(mutant.module, {}).get("killed_by", {}).get(short_of(mutant.name))
    )
    return killer


def save_record() -> dict[str, Any]:
    """Write every module's results that still hold to the record; returns it."""
    import mutmut

    record = load_record()
    modules: dict[str, Any] = {}
    for module in SCOPE:
        mutants = results(module, record)
        seen = survived_once(module, record, mutants)
        functions = {mangled_of(m.name) for m in mutants}
        hashes = source_of(module).hashes
        modules[module] = {
            "functions": {f: hashes[f] for f in sorted(functions)},
            "mutants": {short_of(m.name): m.status for m in mutants if m.status in CODE_BY_STATUS},
            "survived_once": sorted(short_of(name) for name in seen),
            "killed_by": {
                short_of(m.name): killer
                for m in mutants
                if m.name in seen
                and m.status in (KILLED, TIMEOUT)
                and (killer := killer_of(m, record))
            },
        }
    RECORD.write_text(
        json.dumps({"mutmut": mutmut.__version__, "modules": modules}, indent=1, ensure_ascii=False)
        + "\n"
    )
    return modules


def restore(module: str, record: dict[str, Any]) -> None:
    """Put the record's results into mutmut's own (mutants/*.meta) for every function whose
    hash is unchanged, so mutmut keeps them instead of running those mutants again."""
    entry = record.get(module)
    if entry is None:
        return
    source = source_of(module)
    meta = load_meta(module) or {
        "exit_code_by_key": {},
        "hash_by_function_name": {},
        "type_check_error_by_key": {},
        "durations_by_key": {},
        "estimated_durations_by_key": {},
    }
    codes, hashes = meta["exit_code_by_key"], meta["hash_by_function_name"]
    for name in source.names:
        function, short = mangled_of(name), short_of(name)
        current = source.hashes.get(function)
        if entry["functions"].get(function) != current or short not in entry["mutants"]:
            continue
        if hashes.get(function) != current:
            # mutmut's result is of older code (or missing): the record's holds for today's.
            for other in source.names:
                if mangled_of(other) == function:
                    codes[other] = None
            hashes[function] = current
        if codes.get(name) is None:
            codes[name] = CODE_BY_STATUS[entry["mutants"][short]]
    meta_path(module).parent.mkdir(parents=True, exist_ok=True)
    meta_path(module).write_text(json.dumps(meta, indent=4))


# ---------------------------------------------------------------------------------------- run


def mutmut_env(module: str) -> dict[str, str]:
    """The mutated copy of app/ first on the path; PostgreSQL (required, so that its tests
    cannot skip) for a module of POSTGRES_MODULES, else SQLite only."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if module in POSTGRES_MODULES:
        env["NEWSDESK_REQUIRE_POSTGRES"] = "1"
    else:
        env.pop("TEST_DATABASE_URL", None)
        env.pop("NEWSDESK_REQUIRE_POSTGRES", None)
    return env


def run(modules: list[str], everything: bool, jobs: int) -> int:
    """Module by module, so a long run leaves whole modules done (and reportable) behind it."""
    for module in modules:
        code = run_module(module, everything, jobs)
        if code != 0:
            return code
    return 0


def run_module(module: str, everything: bool, jobs: int) -> int:
    os.chdir(ROOT)  # mutmut reads and writes mutants/ relative to the working directory
    if module in POSTGRES_MODULES and not os.environ.get("TEST_DATABASE_URL"):
        print(
            f"mutation: {module} has a PostgreSQL half: set TEST_DATABASE_URL "
            "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test) to run it",
            file=sys.stderr,
        )
        return 2
    record = save_record()
    restore(module, record)
    mutants = results(module, record)
    if everything:
        names = [m.name for m in mutants]
    else:
        # Survivors explained as equivalent are not run again: no test can kill them.
        explained = {e.key for e in load_explanations()}
        names = [
            m.name
            for m in mutants
            if m.status in (NOT_RUN, OTHER)
            or (m.status in UNCAUGHT and explanation_key(m) not in explained)
        ]
    if not names:
        print(f"mutation: {module}: every mutant in scope has a result")
        return 0
    refresh_test_map(mutants)
    print(f"mutation: {module}: checking {len(names)} mutants", flush=True)
    code = subprocess.call(
        [str(MUTMUT), "run", "--max-children", str(jobs), *names], cwd=ROOT, env=mutmut_env(module)
    )
    save_record()  # after each module, so what ran is kept even if the next one is stopped
    return code


def refresh_test_map(mutants: list[Mutant]) -> None:
    """Make mutmut map tests to functions again when a function it must check is new to it.

    mutmut finds each function's tests once, in a stats run that traces the whole suite,
    and later only traces new tests: a function added since has no tests in its map, and
    its mutants would count as "no tests". Setting the map aside (kept as .old) makes mutmut
    trace everything again; functions found by such a run are noted, so one no test calls
    does not bring the whole run back every time.
    """
    if not STATS.exists():
        return
    mapped = json.loads(STATS.read_text())["tests_by_mangled_function_name"]
    traced = set(json.loads(TRACED.read_text())) if TRACED.exists() else set()
    unmapped = {
        m.name.partition("__mutmut_")[0] for m in mutants if m.status in (NOT_RUN, NO_TESTS, OTHER)
    } - set(mapped)
    if unmapped - traced:
        print(f"mutation: tracing the tests again for {len(unmapped - traced)} new functions")
        STATS.replace(STATS.with_suffix(".json.old"))
        TRACED.write_text(json.dumps(sorted(traced | unmapped), indent=0))


# ------------------------------------------------------------------------------------- report


@dataclass(frozen=True)
class Explanation:
    module: str
    function: str
    original: str
    mutant: str
    reason: str

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.module, self.function, self.original, self.mutant)


def load_explanations() -> list[Explanation]:
    if not EXPLANATIONS.exists():
        return []
    entries = tomllib.loads(EXPLANATIONS.read_text())["equivalent"]
    return [
        Explanation(
            e["module"],
            e["function"],
            normalise(e["original"]),
            normalise(e["mutant"]),
            " ".join(e["reason"].split()),
        )
        for e in entries
    ]


def normalise(lines: str) -> str:
    """Changed lines compared without indentation or trailing space."""
    return "\n".join(line.strip() for line in lines.strip().splitlines())


@functools.cache
def parsed(module: str) -> Any:
    import libcst

    return libcst.parse_module(source_of(module).mutated)


def changed_lines(mutant: Mutant) -> tuple[str, str]:
    """The function's lines the mutant removes and adds (as `mutmut show` diffs them)."""
    import libcst
    from mutmut.mutation.diff_apply import read_mutant_function, read_original_function

    tree = parsed(mutant.module)
    original, changed = (
        libcst.Module([read(tree, mutant.name)]).code.strip().splitlines()
        for read in (read_original_function, read_mutant_function)
    )
    diff = list(difflib.unified_diff(original, changed, lineterm=""))[2:]
    removed = [line[1:] for line in diff if line.startswith("-")]
    added = [line[1:] for line in diff if line.startswith("+")]
    return normalise("\n".join(removed)), normalise("\n".join(added))


def explanation_key(mutant: Mutant) -> tuple[str, str, str, str]:
    """What an explanation of `mutant` in docs/mutation-equivalent.toml must match."""
    original, changed = changed_lines(mutant)
    return (mutant.module, mutant.function, original, changed)


def fenced(original: str, mutant: str) -> list[str]:
    lines = ["```diff"]
    lines += [f"- {line}" for line in original.splitlines()]
    lines += [f"+ {line}" for line in mutant.splitlines()]
    return [*lines, "```"]


def toml_stub(mutant: Mutant, original: str, changed: str) -> list[str]:
    return [
        "```toml",
        "[[equivalent]]",
        f'module = "{mutant.module}"',
        f'function = "{mutant.function}"',
        f"original = '''\n{original}'''",
        f"mutant = '''\n{changed}'''",
        'reason = "..."',
        "```",
    ]


def report(check: bool) -> int:
    import mutmut  # the version goes into the report

    os.chdir(ROOT)  # mutmut reads its copy under mutants/ relative to the working directory
    record = save_record()
    explanations = load_explanations()
    by_key = {e.key: e for e in explanations}
    used: set[tuple[str, str, str, str]] = set()
    rows: list[str] = []
    unexplained: list[str] = []
    equivalent: list[str] = []
    killed_by_new: list[str] = []
    missing: list[str] = []
    incomplete: set[str] = set()
    for module in SCOPE:
        mutants = results(module, record)
        seen = {short_of(name) for name in record[module]["survived_once"]}
        if all(m.status == NOT_RUN for m in mutants):
            missing.append(module)
        counts = Counter(m.status for m in mutants)
        explained = 0
        for mutant in mutants:
            if mutant.status in UNCAUGHT:
                key = explanation_key(mutant)
                original, changed = key[2], key[3]
                explanation = by_key.get(key)
                if explanation is not None:
                    used.add(key)
                    explained += 1
                    equivalent += [
                        f"- `{module}` `{mutant.function}` ({mutant.status}): {explanation.reason}",
                        "",
                        *["  " + line for line in fenced(original, changed)],
                    ]
                else:
                    unexplained += [
                        f"### `{mutant.name}` ({mutant.status})",
                        "",
                        *fenced(original, changed),
                        "",
                        "Kill it with a test, or explain it in docs/mutation-equivalent.toml:",
                        "",
                        *toml_stub(mutant, original, changed),
                        "",
                    ]
            elif mutant.status in (KILLED, TIMEOUT) and short_of(mutant.name) in seen:
                killer = killer_of(mutant, record)
                if killer:
                    original, changed = changed_lines(mutant)
                    killed_by_new += [
                        f"- `{module}` `{mutant.function}`: killed by `{killer}`",
                        "",
                        *["  " + line for line in fenced(original, changed)],
                    ]
        if counts[NOT_RUN] + counts[OTHER]:
            incomplete.add(module)
        uncaught = counts[SURVIVED] + counts[NO_TESTS]
        rows.append(
            f"| `{module}` | {', '.join(SCOPE[module] or ['all'])} | {len(mutants)} "
            f"| {counts[KILLED]} | {counts[TIMEOUT]} | {explained} | {uncaught - explained} "
            f"| {counts[NOT_RUN] + counts[OTHER]} |"
        )
    # An explanation of a module not fully run is not stale: its mutant may not have run yet.
    stale = [e for e in explanations if e.key not in used and e.module not in incomplete]

    lines = [
        "# Mutation testing report",
        "",
        f"Written by `make mutation` (mutmut {mutmut.__version__}); see README, "
        '"Mutation testing". A mutant is the code with one small change (a `<` for a `<=`, '
        "`None` for a value, a dropped argument); a test run in which no test fails means the "
        "tests do not pin that behaviour down. Every mutant that survives here is either "
        "explained as equivalent in `docs/mutation-equivalent.toml` or listed under "
        "*Unexplained* below, to be killed with a test. Outcomes are kept in "
        "`docs/mutation-results.json` and count only while the function they mutate is "
        "unchanged; a changed function's mutants are *not run* until the next run.",
        "",
        "| module | functions | mutants | killed | timeout | equivalent | unexplained | not run |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        *rows,
        "",
        f"## Unexplained survivors ({sum(1 for line in unexplained if line.startswith('### '))})",
        "",
        *(unexplained or ["None."]),
        "",
        "## Survivors killed by a new test",
        "",
        "Mutants that survived the suite until a test was written for them (in "
        "tests/**/test_*_mutants.py); the test named is the first that fails on the mutant.",
        "",
        *(killed_by_new or ["None yet."]),
        "",
        "## Equivalent mutants",
        "",
        "Mutants no test can kill because they do not change what the code does; the reasons "
        "are reviewed in docs/mutation-equivalent.toml.",
        "",
        *(equivalent or ["None."]),
        "",
    ]
    if stale:
        lines += [
            "## Explanations that match no surviving mutant",
            "",
            "The mutant is killed now, or the code it quoted changed: remove or update these "
            "entries of docs/mutation-equivalent.toml.",
            "",
            *[f"- `{e.module}` `{e.function}`: `{e.original}` → `{e.mutant}`" for e in stale],
            "",
        ]
    if missing:
        lines += ["## Not run yet", "", *[f"- `{m}`" for m in missing], ""]
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text("\n".join(lines))
    count = sum(1 for line in unexplained if line.startswith("### "))
    print(f"mutation: wrote {REPORT.relative_to(ROOT)}; {count} unexplained survivors")
    if incomplete:
        print(f"mutation: mutants not run yet in {', '.join(sorted(incomplete))}")
    # A module not fully run has not passed: its unrun mutants may survive.
    if check and (count or incomplete):
        return 1
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run_command = commands.add_parser("run", help="run mutmut on the modules in scope")
    run_command.add_argument(
        "--module", action="append", choices=list(SCOPE), help="only this module (repeatable)"
    )
    run_command.add_argument("--all", action="store_true", help="check every mutant again")
    run_command.add_argument("--jobs", type=int, default=int(os.environ.get("MUTATION_JOBS", 2)))
    report_command = commands.add_parser("report", help="write docs/mutation.md")
    report_command.add_argument(
        "--check", action="store_true", help="exit 1 on an unexplained survivor"
    )
    args = parser.parse_args()
    if args.command == "run":
        return run(args.module or list(SCOPE), args.all, args.jobs)
    return report(args.check)


if __name__ == "__main__":
    sys.exit(main())
