"""The mutation check (`make mutation`): run mutmut on the modules that decide answers, then
write docs/mutation.md.

A mutant that survives is either a missing test or a change that cannot alter behaviour.
The first gets a test (in a tests/**/test_*_mutants.py file, so the report can name it);
the second gets an entry in docs/mutation-equivalent.toml with the reason. Entries are
matched by module, function and the text of the changed lines, not by mutmut's numbered
names, which shift whenever a function gains or loses a mutation point.

    python scripts/mutation.py run [--module app/search/cursor.py ...] [--all]
    python scripts/mutation.py report [--check]

`run` is incremental: it passes mutmut only the mutants in scope that have no result yet,
or survived (or had no test) without an explanation, so an interrupted run goes on where it
stopped and a rerun after new tests checks just those survivors. `--all` checks every
mutant in scope again.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "docs" / "mutation.md"
EXPLANATIONS = ROOT / "docs" / "mutation-equivalent.toml"
KILLED_BY = ROOT / "mutants" / "killed-by"
# Every mutant seen surviving (or without a test), so the report can name the test that
# kills it now. Kept beside mutmut's results.
SURVIVORS_SEEN = ROOT / "mutants" / "survivors-seen.json"
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


def mutants_of(module: str) -> list[Mutant] | None:
    """The module's mutants in scope with their last results; None before the first run."""
    meta = ROOT / "mutants" / f"{module}.meta"
    if not meta.exists():
        return None
    codes: dict[str, int | None] = json.loads(meta.read_text())["exit_code_by_key"]
    found = [
        Mutant(name, module, function_of(name), STATUS_BY_CODE.get(code, OTHER))
        for name, code in codes.items()
    ]
    return sorted(
        (m for m in found if in_scope(module, m.function)), key=lambda m: (m.function, m.number)
    )


def seen_survivors() -> set[str]:
    return set(json.loads(SURVIVORS_SEEN.read_text())) if SURVIVORS_SEEN.exists() else set()


def remember_survivors(mutants: list[Mutant]) -> None:
    seen = seen_survivors() | {m.name for m in mutants if m.status in UNCAUGHT}
    SURVIVORS_SEEN.parent.mkdir(exist_ok=True)
    SURVIVORS_SEEN.write_text(json.dumps(sorted(seen), indent=0))


# ---------------------------------------------------------------------------------------- run


def mutmut_env() -> dict[str, str]:
    """SQLite only (no PostgreSQL half), and the mutated copy of app/ first on the path."""
    env = dict(os.environ)
    for name in ("TEST_DATABASE_URL", "NEWSDESK_REQUIRE_POSTGRES", "PYTHONPATH"):
        env.pop(name, None)
    return env


def run(modules: list[str], everything: bool, jobs: int) -> int:
    """Module by module, so a long run leaves whole modules done (and reportable) behind it."""
    for module in modules:
        code = run_module(module, everything, jobs)
        if code != 0:
            return code
    return 0


def run_module(module: str, everything: bool, jobs: int) -> int:
    for attempt in range(3):
        mutants = mutants_of(module)
        remember_survivors(mutants or [])
        if mutants is None or everything:
            scoped = SCOPE[module]
            functions: list[str | None] = [None] if scoped is None else list(scoped)
            names = [pattern_of(module, function) for function in functions]
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
        print(f"mutation: {module}: checking {len(names)} mutants (or patterns)", flush=True)
        code = subprocess.call(
            [str(MUTMUT), "run", "--max-children", str(jobs), *names],
            cwd=ROOT,
            env=mutmut_env(),
        )
        remember_survivors(mutants_of(module) or [])
        if code != 0:
            return code
        everything = False
        # mutmut made new mutants of functions changed since the last run: check those too.
        if not any(m.status == NOT_RUN for m in mutants_of(module) or []):
            return 0
        print(f"mutation: {module}: new mutants appeared (pass {attempt + 1}); checking them")
    return 0


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


def changed_lines(mutant: Mutant) -> tuple[str, str]:
    """The function's lines the mutant removes and adds (mutmut's own diff)."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    diff = get_diff_for_mutant(mutant.name, path=mutant.module).splitlines()[2:]
    removed = [line[1:] for line in diff if line.startswith("-")]
    added = [line[1:] for line in diff if line.startswith("+")]
    return normalise("\n".join(removed)), normalise("\n".join(added))


def explanation_key(mutant: Mutant) -> tuple[str, str, str, str]:
    """What an explanation of `mutant` in docs/mutation-equivalent.toml must match."""
    original, changed = changed_lines(mutant)
    return (mutant.module, mutant.function, original, changed)


def killer_of(mutant: Mutant) -> str | None:
    path = KILLED_BY / mutant.name
    return path.read_text().strip() if path.exists() else None


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
        remember_survivors(mutants_of(module) or [])
    seen = seen_survivors()
    for module in SCOPE:
        mutants = mutants_of(module)
        if mutants is None:
            missing.append(module)
            incomplete.add(module)
            rows.append(f"| `{module}` | not run yet | | | | | |")
            continue
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
            elif mutant.status in (KILLED, TIMEOUT) and mutant.name in seen:
                killer = killer_of(mutant)
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
        "*Unexplained* below, to be killed with a test.",
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
