"""The test suite's CPU time on the same tests at two or more commits (issue 16 item 6).

    python -m bench.suite_cpu OLD NEW [NEWER ...] [--runs 2] [--no-browser] [--every N] [--together]
                              [--workdir /tmp/suite-cpu]

For each commit: a detached git worktree under ``--workdir`` with its own venv (``pip install -e
'.[test,bench]'``; reused when it is already there), ``tests/js/node_modules`` linked from this checkout.
``pytest --collect-only -q`` at each gives the node ids; the tests measured are the ids present at every
commit whose test function is the same: its AST at each later commit equals its AST at OLD once the
builders move's renames (``RENAMES``, b9dabe5: ``world.build`` -> ``builders.small_clinic`` and so on)
are applied to OLD and the ``real_commits`` marker (which says how a test is isolated, not what it
checks) is left out. Any other change in the function (a status, a parameter, one more assertion) drops the test from the set.
``--no-browser`` leaves out tests/browser; ``--every N`` keeps every N-th id of the set (a sample).

That one id list is then run at each commit in turn (OLD, NEW, ..., OLD, NEW, ...; with ``--together``
the commits of a round start at the same time, so they share the machine's load), each run
``pytest -q -p no:cacheprovider`` in its worktree with ``SCHEDULER_TEST_POSTGRES=require`` (so the
PostgreSQL half is never skipped silently). The figure is the CPU time (user + sys) of the pytest
process tree, the rusage ``os.wait4`` returns for the run's pytest: pytest and every process it
waited for (``scheduler serve``, gunicorn, alembic, Chromium when --no-browser is not given). The
PostgreSQL server's own CPU is not in it (a shared server). pytest's wall time and the load average
are printed too, but on a shared machine CPU is the figure. The run's outcome counts must be the same
at every commit, or the script says so. Results: bench/results/suite-cpu-<old>-<last>.json.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"

# The builders move (b9dabe5) renamed the helpers the tests call; applied to OLD's test source.
RENAMES = [
    (r"\bworld\.build\(", "builders.small_clinic("),
    (r"\bworld\.NY\b", "builders.NY"),
    (r"\bfactories\.", "builders."),
    (r"\bbuild_clinic\(", "equipped_clinic("),
    (r"(?<![.\w])patient\(", "patient_id("),
    (r"(?<![.\w])_patient\(", "new_patient("),
    (r"(?<![.\w])_plan\(", "plan("),
    (r"(?<![.\w])_doses\(", "induction_doses("),
    (r"(?<![.\w])_client\(", "signed_in("),
    (r"tests\.browser\.seed\b", "tests.support.builders"),
    (r"from tests\.http\.test_web_sessions import _client", "from tests.support.pages import signed_in"),
    (r"\bZoneInfo\(NY\)", "ZoneInfo(NEW_YORK)"),
    (r"\bimport ROLES\b", "import USER_ROLES"),
]
SUMMARY = re.compile(r"(\d+) (passed|failed|skipped|errors?|xfailed|xpassed|deselected)")


def sh(*args: str, cwd: Path | None = None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, check=True, text=True, **kw)


def tree(commit: str, workdir: Path) -> Path:
    """A worktree of the commit with its venv."""
    sha = sh("git", "rev-parse", commit, cwd=REPO, capture_output=True).stdout.strip()
    path = workdir / sha[:10]
    if not path.exists():
        sh("git", "worktree", "add", "-q", "--detach", str(path), sha, cwd=REPO)
    if not (path / ".venv" / "bin" / "pytest").exists():
        sh(sys.executable, "-m", "venv", str(path / ".venv"))
        pip = str(path / ".venv" / "bin" / "pip")
        sh(pip, "install", "-q", "-e", ".[test,bench]", cwd=path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    modules = (REPO / "tests" / "js" / "node_modules").resolve()
    link = path / "tests" / "js" / "node_modules"
    if modules.exists() and not link.exists():
        link.symlink_to(modules)
    return path


def env() -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "SCHEDULER_", "CI"))}
    out["SCHEDULER_TEST_POSTGRES"] = "require"
    return out


def collect(path: Path) -> list[str]:
    done = subprocess.run(
        [str(path / ".venv" / "bin" / "pytest"), "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=path,
        env=env(),
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        sys.exit(f"collection failed at {path}:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return [line for line in done.stdout.splitlines() if "::" in line]


def functions(path: Path, file: str, rename: bool, cache: dict) -> dict[str, str]:
    key = (path, file, rename)
    if key not in cache:
        found: dict[str, str] = {}
        source = (path / file).read_text() if (path / file).exists() else ""
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name not in found:
                node.decorator_list = [d for d in node.decorator_list if "real_commits" not in ast.unparse(d)]
                text = ast.unparse(node)
                if rename:
                    for old, new in RENAMES:
                        text = re.sub(old, new, text)
                found[node.name] = text
        cache[key] = found
    return cache[key]


def same_tests(trees: list[Path], ids: list[list[str]]) -> tuple[list[str], list[str]]:
    """The ids at every commit whose test function is unchanged since the first, and the common ids left out."""
    cache: dict = {}
    kept, changed = [], []
    for nid in sorted(set.intersection(*map(set, ids))):
        file, rest = nid.split("::", 1)
        name = rest.split("::")[-1].split("[")[0]
        before = functions(trees[0], file, True, cache).get(name)
        same = before is not None and all(functions(t, file, False, cache).get(name) == before for t in trees[1:])
        (kept if same else changed).append(nid)
    return kept, changed


class Run:
    """One pytest run of the id list in a worktree; its CPU is the rusage of that process tree (wait4)."""

    def __init__(self, path: Path, ids_file: Path, log: Path):
        self.load = os.getloadavg()[0]
        self.started = time.monotonic()
        self.log = log
        with log.open("w") as out:
            self.process = subprocess.Popen(
                [str(path / ".venv" / "bin" / "pytest"), "-q", "-p", "no:cacheprovider", f"@{ids_file}"],
                cwd=path,
                env=env(),
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def result(self) -> dict:
        _, status, usage = os.wait4(self.process.pid, 0)
        self.process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - self.started  # with --together: until this run and those waited before it ended
        text = self.log.read_text()
        tail = text.strip().splitlines()[-1] if text.strip() else ""
        outcomes = {kind.rstrip("s") if kind.startswith("error") else kind: int(n) for n, kind in SUMMARY.findall(tail)}
        return {
            "user_s": round(usage.ru_utime, 1),
            "sys_s": round(usage.ru_stime, 1),
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
            "wall_s": round(wall, 1),
            "pytest_s": float(m.group(1)) if (m := re.search(r" in ([\d.]+)s", tail)) else None,
            "load_before": round(self.load, 2),
            "load_after": round(os.getloadavg()[0], 2),
            "outcomes": outcomes,
            "failures": [line for line in text.splitlines() if line.startswith(("FAILED", "ERROR"))],
            "log": str(self.log),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("old")
    parser.add_argument("new", nargs="+")
    parser.add_argument("--runs", type=int, default=2, help="runs per commit, alternating (default 2)")
    parser.add_argument("--no-browser", action="store_true", help="leave out tests/browser (Chromium)")
    parser.add_argument("--every", type=int, default=1, help="measure every N-th id of the set only (default 1)")
    parser.add_argument(
        "--together",
        action="store_true",
        help="start the commits' runs of a round at the same time (each measured by its own process tree); "
        "for a machine too loaded to run them one after the other in the time there is",
    )
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/suite-cpu"))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    names = [args.old, *args.new]
    trees = [tree(name, args.workdir) for name in names]
    kept, changed = same_tests(trees, [collect(t) for t in trees])
    if args.no_browser:
        kept = [nid for nid in kept if not nid.startswith("tests/browser/")]
    kept = kept[:: args.every]
    ids_file = args.workdir / "ids.txt"
    ids_file.write_text("\n".join(kept) + "\n")
    print(f"{len(kept)} tests at every commit, unchanged ({len(changed)} common ids changed, left out): {ids_file}")
    runs: dict[str, list[dict]] = {name: [] for name in names}
    out = RESULTS / f"suite-cpu-{args.old[:10]}-{args.new[-1][:10]}.json"
    for i in range(args.runs):
        pending = []
        for name, path in zip(names, trees, strict=True):
            pending.append((name, Run(path, ids_file, args.workdir / f"run{i + 1}-{path.name}.log")))
            if not args.together:
                report(i, *pending.pop(), runs, lambda: write(out, args, trees, kept, changed, runs))
        for name, started in pending:
            report(i, name, started, runs, lambda: write(out, args, trees, kept, changed, runs))
    cpu = {name: statistics.median(r["cpu_s"] for r in results) for name, results in runs.items()}
    for name in args.new:
        print(
            f"median CPU: {args.old} {cpu[args.old]:.1f} s, {name} {cpu[name]:.1f} s: {1 - cpu[name] / cpu[args.old]:.0%} less"
        )
    outcomes = {json.dumps(r["outcomes"], sort_keys=True) for results in runs.values() for r in results}
    if len(outcomes) > 1:
        print("outcomes differ between runs:", *sorted(outcomes), sep="\n  ")
    print(out)


def report(i: int, name: str, started: Run, runs: dict[str, list[dict]], save) -> None:
    result = started.result()
    runs[name].append(result)
    print(
        f"run {i + 1} {name}: CPU {result['cpu_s']} s (user {result['user_s']}, sys {result['sys_s']}), "
        f"pytest's wall {result['pytest_s']} s, load {result['load_before']}->{result['load_after']}, {result['outcomes']}",
        flush=True,
    )
    for line in result["failures"]:
        print("   ", line)
    save()  # after every run: a measurement cut short keeps the runs it made


def write(out: Path, args, trees: list[Path], kept: list[str], changed: list[str], runs: dict[str, list[dict]]) -> None:
    cpu = {name: statistics.median(r["cpu_s"] for r in results) for name, results in runs.items() if results}
    RESULTS.mkdir(exist_ok=True)
    summary = {
        "commits": {name: tree.name for name, tree in zip(runs, trees, strict=True)},
        "tests": len(kept),
        "common_ids_changed_left_out": len(changed),
        "browser": not args.no_browser,
        "every": args.every,
        "together": args.together,
        "cpus": os.cpu_count(),
        "median_cpu_s": cpu,
        "saving_vs_first": {n: round(1 - c / cpu[args.old], 3) for n, c in cpu.items() if n != args.old},
        "runs": runs,
    }
    out.write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
