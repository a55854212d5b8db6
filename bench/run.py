"""``make bench``: cdishim against bare runc on this machine.

Prints a Markdown table (paste it into BENCHMARKS.md) and writes the raw
samples to bench/results.json. Needs root, runc and the demo's tools.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import injector, scenarios
from bench.harness import table


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.machine())
    runc = subprocess.run(["runc", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "kernel": platform.release(),
        "runc": runc,
        "python": sys.version.split()[0],
        "date": time.strftime("%Y-%m-%d"),
    }


def matrix_launchers(matrix: Path) -> dict[str, str]:
    """"3.9.18 (pyenv)" -> its venv's cdishim, for each venv `make test-matrix` left in *matrix*."""
    launchers = {}
    for launcher in sorted(matrix.glob("*/bin/cdishim")):
        version, _, source = launcher.parts[-3].partition("-")
        launchers[f"{version} ({source})"] = str(launcher)
    return launchers


def default_work_parent() -> str:
    """/dev/shm when it is a tmpfs, else the temp dir."""
    mounts = Path("/proc/mounts").read_text().split("\n")
    return "/dev/shm" if any(line.split()[1:3] == ["/dev/shm", "tmpfs"] for line in mounts if line) else tempfile.gettempdir()


def filesystem(path: str) -> str:
    """The type of the filesystem *path* is on (the longest mount point above it)."""
    best, kind = "", "?"
    for line in Path("/proc/mounts").read_text().splitlines():
        point, fstype = line.split()[1:3]
        if (path == point or path.startswith(point.rstrip("/") + "/")) and len(point) >= len(best):
            best, kind = point, fstype
    return kind


def sizes(text: str) -> tuple[int, ...]:
    """"1,100,1000" -> (1, 100, 1000)."""
    return tuple(int(size) for size in text.split(","))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20, help="samples per side (default 20)")
    parser.add_argument("--cdishim", default=str(Path(sys.executable).parent / "cdishim"))
    parser.add_argument("--sizes", default="1,10,100,1000", help="spec-file counts for the registry scale")
    parser.add_argument("--injector-sizes", default="1,1000", help="spec-file counts for the injector's creates")
    parser.add_argument("--memory-sizes", default="1,100,1000", help="spec-file counts for the injector's memory")
    parser.add_argument("--output", default=str(Path(__file__).parent / "results.json"))
    parser.add_argument("--work-dir", default=default_work_parent(),
                        help="where bundles, spec dirs and runc's state go (default: /dev/shm, a tmpfs as /run is on "
                             "nodes, where containerd, Docker and CRI-O keep bundles and runc its state)")
    parser.add_argument("--matrix", default=str(Path(__file__).resolve().parents[1] / "build" / "matrix"),
                        help="venvs of make test-matrix: one create row per Python")
    args = parser.parse_args()
    if os.geteuid() != 0 or not shutil.which("runc"):
        sys.stderr.write("bench: needs root and runc (run `make deps`)\n")
        return 1

    work = Path(tempfile.mkdtemp(prefix="cdishim-bench-", dir=args.work_dir))
    bench = scenarios.Bench(work, args.cdishim, args.runs)
    try:
        bench.setup()
        time.sleep(scenarios.RACY_WAIT_S)
        results = [
            scenarios.passthrough(bench),
            scenarios.passthrough_sh_launcher(bench),
            *injector.served_rows(bench, sizes(args.injector_sizes)),
            scenarios.create_path(bench, "create, demo spec (4 devices), cached", str(bench.spec_dir),
                                  scenarios.FOUR_GPUS, 20),
            scenarios.create_path(bench, "create, demo spec (4 devices), cached, with a config file",
                                  str(bench.spec_dir), scenarios.FOUR_GPUS, 20,
                                  env_extra={"CDISHIM_CONFIG": str(bench.config_file)}),
            *scenarios.create_per_python(bench, matrix_launchers(Path(args.matrix))),
            scenarios.lifecycle(bench),
            scenarios.three_hooks(bench),
            *scenarios.hook_wrapper(bench),
            *scenarios.podman_native_cdi(bench),
            *scenarios.registry_scale(bench, sizes(args.sizes)),
        ]
        memory = injector.memory(bench, sizes(args.memory_sizes))
    finally:
        subprocess.run(["runc", "--root", str(bench.root), "list", "-q"], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)

    info = {**machine(), "work_dir": f"{args.work_dir} ({filesystem(args.work_dir)})"}
    print(f"machine: {info['cpu']}, {info['cores']} cores, kernel {info['kernel']}, {info['runc']}, Python {info['python']}; "
          f"bundles and runc state in {info['work_dir']}")
    print(table(results))
    print("injector RSS after one create: " + ", ".join(f"{mb:.1f} MB at {n} spec files" for n, mb in memory.items()))
    if not matrix_launchers(Path(args.matrix)):
        print("not measured: the create path per Python (run `make test-matrix` first, which builds their venvs)")
    if not shutil.which("podman"):
        print("not measured: podman's native CDI (podman is not installed; `make deps` installs it)")
    Path(args.output).write_text(json.dumps({"machine": info, "results": [r.to_json() for r in results],
                                             "injector_rss_mb": memory}, indent=1))
    print(f"raw samples: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
