"""``make test-matrix``: the tests on every CPython from 3.9 to 3.13 that this machine has.

For each interpreter found (pyenv's, under ``$(pyenv root)/versions``, and
the distribution's own ``/usr/bin/python3.N``), build a fresh venv, install
cdishim into it from this tree as a user of that Python would (from PyPI;
the distribution's Python takes its python3-* packages instead), and run
the unit tests and the runtime's integration tests on real runc against the
installed package. One line per interpreter: version, outcome, seconds.

In CI (``CI=true``) fewer than three distinct minor versions is a failure,
so an empty matrix cannot pass; elsewhere a missing one is reported and
skipped. An interpreter that is found but does not run is reported too.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / "build" / "matrix"
SUPPORTED = [(3, 9), (3, 10), (3, 11), (3, 12), (3, 13)]
MINIMUM_IN_CI = 3
PIP_NETWORK = ["--timeout", "60", "--retries", "2"]
TESTS_TIMEOUT_S = 1800
TESTS = [
    "tests/unit",
    "tests/integration/test_runtime.py",  # create/run through the launcher on real bundles
    "tests/integration/test_hooks.py",  # the hook programs
    "tests/integration/test_hostile_input.py",
]


def pyenv_root() -> Path | None:
    """Where pyenv keeps its Pythons, if it is installed."""
    root = os.environ.get("PYENV_ROOT")
    if root:
        return Path(root)
    found = shutil.which("pyenv")
    if found:
        result = subprocess.run([found, "root"], capture_output=True, text=True)
        if result.returncode == 0 and result.stdout.strip():
            return Path(result.stdout.strip())
    default = Path.home() / ".pyenv"
    return default if default.is_dir() else None


def candidates() -> list[tuple[Path, str]]:
    """(interpreter, where it comes from) for every Python this machine may have."""
    found = []
    root = pyenv_root()
    if root is not None:
        found += [(python, "pyenv") for python in sorted(root.glob("versions/*/bin/python3"))]
    found += [(python, "distribution") for python in sorted(Path("/usr/bin").glob("python3.*"))
              if re.fullmatch(r"python3\.\d+", python.name)]
    return found


def version_of(python: Path) -> tuple[int, ...] | None:
    """The CPython version of *python*; None for one that does not run, or is not CPython."""
    # Python 2 must be able to answer too, so that it is skipped as too old rather than as broken.
    code = ("import platform, sys; sys.stdout.write('%s %d %d %d' % "
            "((platform.python_implementation().lower(),) + tuple(sys.version_info[:3])))")
    try:
        result = subprocess.run([str(python), "-I", "-S", "-c", code], capture_output=True, text=True, timeout=30)
        name, *numbers = result.stdout.split()
        return tuple(int(part) for part in numbers) if result.returncode == 0 and name == "cpython" else None
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None


def interpreters() -> tuple[list[tuple[Path, str, tuple[int, ...]]], list[Path]]:
    """Supported interpreters, one per real executable, oldest first; and those that do not run."""
    seen, chosen, broken = set(), [], []
    for python, source in candidates():
        real = os.path.realpath(python)
        if real in seen:
            continue
        seen.add(real)
        version = version_of(python)
        if version is None:
            broken.append(python)
        elif tuple(version[:2]) in SUPPORTED:
            chosen.append((python, source, version))
    return sorted(chosen, key=lambda item: item[2]), broken


def venv_name(python: Path, source: str, version: tuple[int, ...]) -> str:
    """A venv name unique per interpreter: pyenv's version dir (3.13.0, 3.13.0t), else the version."""
    label = python.parents[1].name if source == "pyenv" else ".".join(map(str, version))
    return f"{label}-{source}"


def install(python: Path, source: str, venv: Path, log) -> None:
    """A fresh venv with cdishim installed from this tree (not editable: the tests use the installed package)."""
    shutil.rmtree(venv, ignore_errors=True)
    pip = [str(venv / "bin" / "pip"), "install", *PIP_NETWORK]
    if source == "distribution":  # its user takes the python3-* packages the distribution ships
        steps = [[str(python), "-m", "venv", "--system-site-packages", str(venv)],
                 [*pip, "--no-deps", "--no-build-isolation", str(REPO)]]
    else:
        steps = [[str(python), "-m", "venv", str(venv)], [*pip, f"{REPO}[device-plugin,test]"]]
    for step in steps:
        log.write(f"$ {' '.join(step)}\n")
        log.flush()
        result = subprocess.run(step, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO)
        log.write(result.stdout)
        if result.returncode != 0:
            errors = [line for line in result.stdout.splitlines() if line.startswith("ERROR:")]
            reason = errors[-1] if errors else f"exit status {result.returncode}"
            raise subprocess.CalledProcessError(result.returncode, step, output=f"{step[1:3]} failed: {reason}")


def run_tests(venv: Path, log) -> str:
    """The pytest summary line; raises CalledProcessError when tests fail."""
    try:
        result = subprocess.run([str(venv / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", *TESTS],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO,
                                timeout=TESTS_TIMEOUT_S)
    except subprocess.TimeoutExpired as err:
        raise subprocess.CalledProcessError(1, "pytest", output=f"tests ran past {TESTS_TIMEOUT_S} s") from err
    log.write(result.stdout)
    summary = (result.stdout.strip().splitlines() or ["no output"])[-1].strip("= ")
    if result.returncode != 0:
        raise subprocess.CalledProcessError(result.returncode, "pytest", output=summary)
    return summary


def main() -> int:
    WORK.mkdir(parents=True, exist_ok=True)
    found, broken = interpreters()
    failures = 0
    for python in broken:
        print(f"{python!s:<22} found, but does not run as CPython: skipped")
    for python, source, version in found:
        label = f"{'.'.join(map(str, version))} ({source})"
        venv = WORK / venv_name(python, source, version)
        started = time.monotonic()
        with open(WORK / f"{venv.name}.log", "w") as log:
            try:
                install(python, source, venv, log)
                outcome = run_tests(venv, log)
            except subprocess.CalledProcessError as err:
                failures += 1
                outcome = f"FAILED: {err.output} (see {log.name})"
        print(f"{label:<22} {outcome:<44} {time.monotonic() - started:6.0f} s", flush=True)
    minors = {version[:2] for _, _, version in found}
    for minor in SUPPORTED:
        if minor not in minors:
            print(f"{'.'.join(map(str, minor)):<22} not found on this machine: skipped")
    if os.environ.get("CI") == "true" and len(minors) < MINIMUM_IN_CI:
        print(f"test-matrix: only {len(minors)} Python minor version(s) found; CI needs at least {MINIMUM_IN_CI}")
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
