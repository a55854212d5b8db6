"""``make test-matrix``: the tests on every CPython from 3.9 to 3.13 that this machine has.

For each interpreter found (pyenv's, under ``$(pyenv root)/versions``, and
the distribution's own ``/usr/bin/python3.N``), build a fresh venv, install
cdishim into it from this tree as a user of that Python would (from PyPI;
the distribution's Python takes its python3-* packages instead), and run
the unit tests and the runtime's integration tests on real runc against the
installed package. One line per interpreter: version, outcome, seconds.

In CI (``CI=true``) fewer than three distinct minor versions is a failure,
so an empty matrix cannot pass; elsewhere a missing one is reported and
skipped.
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
    try:
        result = subprocess.run([str(python), "-c", "import sys; print(*sys.version_info[:3])"],
                                capture_output=True, text=True, timeout=30)
    except OSError:
        return None
    return tuple(int(part) for part in result.stdout.split()) if result.returncode == 0 else None


def interpreters() -> list[tuple[Path, str, tuple[int, ...]]]:
    """Supported interpreters, one per real executable, oldest first."""
    seen, chosen = set(), []
    for python, source in candidates():
        real = os.path.realpath(python)
        version = version_of(python)
        if real in seen or version is None or tuple(version[:2]) not in SUPPORTED:
            continue
        seen.add(real)
        chosen.append((python, source, version))
    return sorted(chosen, key=lambda item: item[2])


def install(python: Path, source: str, venv: Path, log) -> None:
    """A fresh venv with cdishim installed from this tree (not editable: the tests use the installed package)."""
    shutil.rmtree(venv, ignore_errors=True)
    if source == "distribution":  # its user takes the python3-* packages the distribution ships
        steps = [[str(python), "-m", "venv", "--system-site-packages", str(venv)],
                 [str(venv / "bin" / "pip"), "install", "--no-deps", "--no-build-isolation", str(REPO)]]
    else:
        steps = [[str(python), "-m", "venv", str(venv)],
                 [str(venv / "bin" / "pip"), "install", f"{REPO}[device-plugin,test]"]]
    for step in steps:
        subprocess.run(step, stdout=log, stderr=subprocess.STDOUT, check=True, cwd=REPO)


def run_tests(venv: Path, log) -> str:
    """The pytest summary line; raises CalledProcessError when tests fail."""
    result = subprocess.run([str(venv / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", *TESTS],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO)
    log.write(result.stdout)
    summary = (result.stdout.strip().splitlines() or ["no output"])[-1].strip("= ")
    if result.returncode != 0:
        raise subprocess.CalledProcessError(result.returncode, "pytest", output=summary)
    return summary


def main() -> int:
    WORK.mkdir(parents=True, exist_ok=True)
    found = interpreters()
    failures = 0
    for python, source, version in found:
        label = f"{'.'.join(map(str, version))} ({source})"
        venv = WORK / f"{'.'.join(map(str, version))}-{source}"
        started = time.monotonic()
        with open(WORK / f"{venv.name}.log", "w") as log:
            try:
                install(python, source, venv, log)
                outcome = run_tests(venv, log)
            except subprocess.CalledProcessError as err:
                failures += 1
                outcome = f"FAILED: {err.output or 'install failed'} (see {log.name})"
        print(f"{label:<22} {outcome:<44} {time.monotonic() - started:6.0f} s", flush=True)
    minors = {version[:2] for _, _, version in found}
    for minor in SUPPORTED:
        if minor not in minors:
            print(f"{'.'.join(map(str, minor)):<22} not found on this machine: skipped")
    if os.environ.get("CI") == "true" and len(minors) < MINIMUM_IN_CI:
        print(f"test-matrix: only {len(minors)} Python minor version(s) ran; CI needs at least {MINIMUM_IN_CI}")
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
