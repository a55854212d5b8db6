"""The benchmark rows of the resident injector: creates and lifecycles it serves, and its memory."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from bench.harness import Comparison
from bench.scenarios import FOUR_GPUS, Bench, create_path, lifecycle, run_timed, write_scale_specs


class Injector:
    """A `cdishim-injector` serving one spec-dir list, and the env of the creates it serves.

    The injector serves only launchers whose config, spec dirs and cache dir
    are its own, so each spec-dir list gets its own injector and env.
    """

    def __init__(self, bench: Bench, name: str, spec_dirs: str) -> None:
        self.bench = bench
        self.socket = bench.work / f"injector-{name}" / "injector.sock"
        config = bench.work / f"injector-{name}.toml"
        config.write_text(f'injector-socket = "{self.socket}"\n')
        past = time.time() - 60
        os.utime(config, (past, past))  # the runtime record written next is newer
        self.env = {**bench.env, "CDISHIM_CONFIG": str(config), "CDI_SPEC_DIRS": spec_dirs,
                    "CDISHIM_CACHE_DIR": str(bench.work / f"cache-injector-{name}")}
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Injector:
        program = str(Path(self.bench.cdishim).parent / "cdishim-injector")
        self.process = subprocess.Popen([program], env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while not self.socket.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"cdishim-injector did not listen: {self.process.stderr.read().decode()}")
            time.sleep(0.02)
        # Python writes the runtime record (naming the socket) on a command it sees.
        run_timed(self.bench.cdishim_cmd("--version"), self.env)
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(10)

    def assert_serves(self, spec_dirs: str, request: str) -> None:
        """One create that can only succeed through the injector: with no Python for a fallback to start."""
        bundle = self.bench.bundle(self.bench.new_id("served"), {"cdi.k8s.io/bench": request})
        container = self.bench.new_id("served")
        env = {**self.env, "CDI_SPEC_DIRS": spec_dirs, "CDISHIM_PYTHON": "/nonexistent/python3"}
        try:
            run_timed(self.bench.cdishim_cmd("create", "--bundle", str(bundle), container), env)
        except RuntimeError as err:
            raise RuntimeError(f"the injector does not serve these creates: {err}") from None
        finally:
            self.bench.delete(container)

    def rss_mb(self) -> float:
        """The injector's resident set size now, in MB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")


def scale_dir(bench: Bench, size: int) -> Path:
    """*size* spec files in their own dir (see `write_scale_specs`)."""
    directory = bench.work / f"injector-scale-{size}"
    if not directory.exists():
        write_scale_specs(directory, size)
    return directory


SCALE_REQUEST = ",".join(f"scale0.example.com/gpu=gpu{n}" for n in (1, 3, 5, 7))


def served_rows(bench: Bench, sizes: tuple[int, ...]) -> list[Comparison]:
    """Creates served by a warm injector (demo spec, and *sizes* spec files), and a served lifecycle."""
    for size in sizes:
        scale_dir(bench, size)
    time.sleep(2.2)  # older than the racy window, as in the other rows
    rows = []
    with Injector(bench, "demo", str(bench.spec_dir)) as injector:
        injector.assert_serves(str(bench.spec_dir), FOUR_GPUS)
        rows.append(create_path(bench, "create, demo spec (4 devices), injector warm", str(bench.spec_dir), FOUR_GPUS, 5,
                                env_extra=injector.env))
        rows.append(lifecycle(bench, "full lifecycle, injector warm", budget_ratio=1.10, env=injector.env))
    for size in sizes:
        directory = str(scale_dir(bench, size))
        with Injector(bench, f"scale-{size}", directory) as injector:
            injector.assert_serves(directory, SCALE_REQUEST)
            rows.append(create_path(bench, f"create, {size} spec files, injector warm", directory, SCALE_REQUEST, 5,
                                    env_extra=injector.env))
    return rows


def memory(bench: Bench, sizes: tuple[int, ...]) -> dict[int, float]:
    """The injector's RSS in MB after serving one create, per number of spec files."""
    result = {}
    for size in sizes:
        directory = str(scale_dir(bench, size))
        with Injector(bench, f"memory-{size}", directory) as injector:
            bundle = bench.bundle(f"memory-{size}", {"cdi.k8s.io/bench": SCALE_REQUEST})
            container = bench.new_id("memory")
            run_timed(bench.cdishim_cmd("create", "--bundle", str(bundle), container), injector.env)
            bench.delete(container)
            result[size] = injector.rss_mb()
    return result
