"""Mutation check: each wrong change in mutations.yaml must make the unit tests fail.

    python -m tests.mutation.run [--only ID ...] [--list] [--keep] [--pytest-args ARG ...]

The working tree is never touched. The tracked files (plus untracked files that git does not
ignore, so new tests count) are copied once into a temporary snapshot; the unit tests must pass on
that snapshot; then each mutation is applied to its own copy of the snapshot and the unit tests run
there, with PYTHONPATH pointing at the copy so its pipelines/, contracts/ and models/ are the ones
imported. Exit 0 when every mutation is caught, 1 when one survived or is broken, 2 when nothing
can be concluded (bad arguments, the unmutated copy fails, imports do not come from the copy).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
MUTATIONS_FILE = Path(__file__).resolve().with_name("mutations.yaml")
VENV_PYTHON = REPO / ".venv" / "bin" / "python"
PYTEST_ARGS = ["tests/unit", "-q", "-x", "-p", "no:cacheprovider", "-n", "2", "--dist", "loadfile", "-rfE"]
FIELDS = ("id", "file", "find", "replace", "note")
# never copied, even if git lists them: the virtualenv, build output, warehouse data
SKIP_TOP = {".venv", "build", ".dagster_home", ".git"}
SKIP_SUFFIXES = (".duckdb", ".duckdb.wal", ".parquet")
SUMMARY_LINE = re.compile(r"^(FAILED|ERROR) (\S+)")


@dataclass(frozen=True)
class Mutation:
    id: str
    file: str
    find: str
    replace: str
    note: str


@dataclass(frozen=True)
class Outcome:
    status: str  # caught | SURVIVED | broken
    seconds: float
    detail: str


def load_mutations(path: Path = MUTATIONS_FILE) -> list[Mutation]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    mutations, seen = [], set()
    for i, entry in enumerate(doc.get("mutations") or []):
        missing = [
            f for f in FIELDS if not isinstance(entry.get(f), str) or (f != "replace" and not entry[f])
        ]
        if missing:
            raise SystemExit(f"{path}: mutations[{i}] needs text for {', '.join(missing)}")
        if entry["id"] in seen:
            raise SystemExit(f"{path}: mutation id {entry['id']!r} is used twice")
        seen.add(entry["id"])
        mutations.append(Mutation(**{f: entry[f] for f in FIELDS}))
    if not mutations:
        raise SystemExit(f"{path}: no mutations")
    return mutations


def files_to_copy(repo: Path) -> list[str]:
    """Tracked files and untracked-but-not-ignored files, without the venv, build/ or warehouse data."""
    names: set[str] = set()
    for extra in ([], ["--others", "--exclude-standard"]):
        out = subprocess.run(
            ["git", "ls-files", "-z", *extra], cwd=repo, check=True, capture_output=True
        ).stdout.decode("utf-8")
        names.update(n for n in out.split("\0") if n)
    keep = []
    for name in sorted(names):
        parts = Path(name).parts
        if parts[0] in SKIP_TOP or name.endswith(SKIP_SUFFIXES):
            continue
        if parts[0] == "warehouse" and not name.endswith(".md"):
            continue
        keep.append(name)
    return keep


def snapshot(repo: Path, names: list[str], dest: Path) -> None:
    for name in names:
        source = repo / name
        target = dest / name
        if source.is_symlink():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(os.readlink(source))
        elif source.is_file():  # a tracked file deleted in the working tree is left out
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def environment(copy: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTEST_ADDOPTS", None)
    return env


def check_imports_come_from(copy: Path) -> str | None:
    """None when the copy's pipelines package is the one imported there; else why not."""
    result = subprocess.run(
        [str(VENV_PYTHON), "-c", "import pipelines.lib.paths as p; print(p.REPO_ROOT)"],
        cwd=copy,
        env=environment(copy),
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        return f"cannot import pipelines in the copy:\n{result.stderr.strip()}"
    seen = Path(result.stdout.strip()).resolve()
    if seen != copy.resolve():
        return f"pipelines.lib.paths.REPO_ROOT is {seen} in the copy, not {copy}: the tests would not see the mutation"
    return None


def run_pytest(copy: Path, extra: list[str], timeout: float) -> tuple[int | None, str]:
    """pytest's exit code (None on timeout) and its output, also saved to <copy>/mutation-pytest.log."""
    command = [str(VENV_PYTHON), "-m", "pytest", *PYTEST_ARGS, *extra]
    try:
        result = subprocess.run(
            command,
            cwd=copy,
            env=environment(copy),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
        )
        code: int | None = result.returncode
        output = result.stdout
    except subprocess.TimeoutExpired as exc:
        code = None
        raw = exc.stdout or b""
        output = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    (copy / "mutation-pytest.log").write_text(output, encoding="utf-8")
    return code, output


def first_failure(output: str) -> str:
    for line in output.splitlines():
        match = SUMMARY_LINE.match(line)
        if match:
            return match.group(2) if match.group(1) == "FAILED" else f"{match.group(2)} (error)"
    return "(no FAILED line in the output)"


def stopped_on_failure(output: str) -> bool:
    """True when pytest stopped because a test failed: with -x, pytest-xdist ends the session as
    "Interrupted" (exit code 2) instead of 1. A collection error also exits 2, and is no catch."""
    tests_failed = any((m := SUMMARY_LINE.match(line)) and "::" in m.group(2) for line in output.splitlines())
    return tests_failed and "stopping after" in output


def tail(output: str, lines: int = 15) -> str:
    return "\n".join("    | " + line for line in output.rstrip().splitlines()[-lines:])


def apply(mutation: Mutation, copy: Path) -> str | None:
    """Apply the mutation to the copy; None when done, else why it is broken."""
    target = copy / mutation.file
    if not target.is_file():
        return f"{mutation.file} does not exist"
    with target.open(encoding="utf-8", newline="") as handle:
        text = handle.read()
    count = text.count(mutation.find)
    if count != 1:
        return f"find text occurs {count} times in {mutation.file} (must be exactly once)"
    with target.open("w", encoding="utf-8", newline="") as handle:
        handle.write(text.replace(mutation.find, mutation.replace, 1))
    return None


def try_mutation(mutation: Mutation, base: Path, work: Path, extra: list[str], timeout: float) -> Outcome:
    copy = work / mutation.id
    shutil.copytree(base, copy, symlinks=True)
    started = time.monotonic()
    problem = apply(mutation, copy)
    if problem:
        return Outcome("broken", 0.0, problem)
    code, output = run_pytest(copy, extra, timeout)
    seconds = time.monotonic() - started
    if code == 0:
        return Outcome("SURVIVED", seconds, "the unit tests still pass")
    if code == 1 or (code == 2 and stopped_on_failure(output)):
        return Outcome("caught", seconds, first_failure(output))
    why = f"pytest timed out after {timeout:.0f}s" if code is None else f"pytest exit code {code}"
    return Outcome("broken", seconds, f"{why}\n{tail(output)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.mutation.run",
        description="Check that each wrong change in tests/mutation/mutations.yaml makes the unit tests fail.",
    )
    parser.add_argument("--only", nargs="+", metavar="ID", help="run only these mutations")
    parser.add_argument("--list", action="store_true", help="print the mutations and exit")
    parser.add_argument("--keep", action="store_true", help="keep the temporary copies (and pytest logs)")
    parser.add_argument(
        "--timeout", type=float, default=1800, help="seconds one unit-test run may take (default 1800)"
    )
    parser.add_argument(
        "--pytest-args",
        nargs=argparse.REMAINDER,
        default=[],
        help="everything after this goes to pytest (put it last)",
    )
    args = parser.parse_args(argv)

    mutations = load_mutations()
    if args.list:
        for m in mutations:
            print(f"{m.id}  ({m.file})\n    {' '.join(m.note.split())}")
        return 0
    if args.only:
        known = {m.id for m in mutations}
        unknown = [i for i in args.only if i not in known]
        if unknown:
            print(f"unknown mutation id(s): {', '.join(unknown)} (see --list)", file=sys.stderr)
            return 2
        mutations = [m for m in mutations if m.id in args.only]
    if not VENV_PYTHON.exists():
        print(f"{VENV_PYTHON} is missing: run make venv first", file=sys.stderr)
        return 2

    work = Path(tempfile.mkdtemp(prefix="junheng-mutation-"))
    try:
        return run_all(mutations, work, args.pytest_args, args.timeout)
    finally:
        if args.keep:
            print(f"copies kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def run_all(mutations: list[Mutation], work: Path, extra: list[str], timeout: float) -> int:
    base = work / "unmutated"
    names = files_to_copy(REPO)
    snapshot(REPO, names, base)
    problem = check_imports_come_from(base)
    if problem:
        print(f"refusing to run: {problem}", file=sys.stderr)
        return 2

    print(f"unmutated copy ({len(names)} files): running the unit tests...", flush=True)
    started = time.monotonic()
    code, output = run_pytest(base, extra, timeout)
    if code != 0:
        print(
            f"refusing to run: the unit tests fail without any mutation (exit code {code}), "
            f"so nothing can be concluded\n{tail(output)}",
            file=sys.stderr,
        )
        return 2
    print(f"unmutated copy: tests pass ({time.monotonic() - started:.0f}s)\n", flush=True)

    width = max(len(m.id) for m in mutations)
    results: dict[str, list[str]] = {"caught": [], "SURVIVED": [], "broken": []}
    for mutation in mutations:
        outcome = try_mutation(mutation, base, work, extra, timeout)
        results[outcome.status].append(mutation.id)
        first, _, rest = outcome.detail.partition("\n")
        print(f"{mutation.id:<{width}}  {outcome.status:<8} {outcome.seconds:5.0f}s  {first}", flush=True)
        if rest:
            print(rest, flush=True)
        if outcome.status != "caught":
            print(f"    ({' '.join(mutation.note.split())})", flush=True)

    print(
        f"\n{len(mutations)} mutations: {len(results['caught'])} caught, "
        f"{len(results['SURVIVED'])} survived, {len(results['broken'])} broken"
    )
    for status in ("SURVIVED", "broken"):
        if results[status]:
            print(f"{status.lower()}: {', '.join(results[status])}")
    if results["SURVIVED"]:
        print("A survivor means no unit test checks that rule: write the missing test.")
    return 1 if results["SURVIVED"] or results["broken"] else 0


if __name__ == "__main__":
    sys.exit(main())
