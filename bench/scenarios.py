"""The benchmark scenarios: real runc, real bundles, the demo's mock devices.

For every scenario, A is cdishim and B is bare runc doing the same work. In
the create scenarios, B runs on a copy of the bundle whose config.json already
holds the edits cdishim makes, so runc's own work is identical.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from bench.harness import Comparison, compare, run_timed

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "demo"
FOUR_GPUS = ",".join(f"mock.com/gpu=device_{n}" for n in range(4))
RACY_WAIT_S = 2.2  # spec files younger than this are not cached (cdishim.statcache.RACY_NS)


class Bench:
    """Working directory, state dir and environment shared by the scenarios."""

    def __init__(self, work: Path, cdishim: str, runs: int) -> None:
        self.work = work
        self.cdishim = cdishim
        self.runs = runs
        self.root = work / "runc-state"
        self.spec_dir = work / "cdi"
        self.env = {
            **os.environ,
            "CDI_SPEC_DIRS": str(self.spec_dir),
            "CDISHIM_CONFIG": str(work / "absent-config.toml"),
            "CDISHIM_CACHE_DIR": str(work / "cache"),
        }
        self.env.pop("CDISHIM_HANDED_OVER_TO", None)
        self._counter = 0

    def setup(self) -> None:
        subprocess.run([str(DEMO / "install-mock-devices.sh")], check=True)
        ctl = str(Path(self.cdishim).parent / "cdishim-ctl")
        subprocess.run([str(DEMO / "write-mock-spec.sh"), ctl, str(self.spec_dir)], check=True, capture_output=True)
        self.config_file.write_text('# as a package would install it\nruntimes = ["runc", "crun"]\nlog-level = "warning"\n')

    @property
    def config_file(self) -> Path:
        """A real config file, for the create path as it runs on an installed node."""
        return self.work / "config.toml"

    def cdishim_cmd(self, *args: str) -> list[str]:
        return [self.cdishim, "--root", str(self.root), *args]

    def runc_cmd(self, *args: str) -> list[str]:
        return ["runc", "--root", str(self.root), *args]

    def bundle(self, name: str, annotations: dict[str, str], script: str = "sleep 300") -> Path:
        path = self.work / name
        subprocess.run(
            [str(DEMO / "make-bundle.sh"), str(path), json.dumps(annotations), script], check=True, capture_output=True
        )
        return path

    def new_id(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}-{self._counter}"

    def delete(self, container: str) -> None:
        subprocess.run(self.runc_cmd("delete", "--force", container), env=self.env, capture_output=True)

    def pre_edited_copy(self, bundle: Path, name: str, env: dict[str, str]) -> Path:
        """A copy of *bundle* whose config.json already holds cdishim's edits."""
        copy = self.work / name
        shutil.copytree(bundle, copy, symlinks=True)
        container = self.new_id("prep")
        run_timed(self.cdishim_cmd("create", "--bundle", str(copy), container), env)
        self.delete(container)
        return copy


def passthrough(bench: Bench) -> Comparison:
    """`cdishim state` vs `runc state` on a running container."""
    bundle = bench.bundle("running", {})
    run_timed(bench.runc_cmd("run", "-d", "--bundle", str(bundle), "bench-running"), bench.env)
    run_timed(bench.cdishim_cmd("state", "bench-running"), bench.env)  # Python writes the runtime record once
    try:
        return compare(
            Comparison("passthrough: state, compiled launcher", "cdishim state", "runc state", budget_ms_added=1),
            lambda: run_timed(bench.cdishim_cmd("state", "bench-running"), bench.env),
            lambda: run_timed(bench.runc_cmd("state", "bench-running"), bench.env),
            bench.runs,
        )
    finally:
        bench.delete("bench-running")


def _create_step(bench: Bench, command: list[str], bundle: Path, original: bytes | None, env: dict[str, str]):
    def step() -> float:
        if original is not None:
            (bundle / "config.json").write_bytes(original)
        container = bench.new_id("c")
        try:
            return run_timed([*command, "create", "--bundle", str(bundle), container], env)
        finally:
            bench.delete(container)

    return step


def create_path(bench: Bench, name: str, spec_dirs: str, annotation: str, budget: float | None, runs: int | None = None,
                env_extra: dict[str, str] | None = None, launcher: str | None = None) -> Comparison:
    """`cdishim create` (4 devices) vs `runc create` on a pre-edited copy.

    *launcher* is another installation's `cdishim` (default: the one benchmarked).
    """
    env = {**bench.env, "CDI_SPEC_DIRS": spec_dirs, **(env_extra or {})}
    bundle = bench.bundle(f"create-{bench.new_id('b')}", {"cdi.k8s.io/bench": annotation})
    original = (bundle / "config.json").read_bytes()
    edited = bench.pre_edited_copy(bundle, f"edited-{bench.new_id('b')}", env)
    command = [launcher, "--root", str(bench.root)] if launcher else bench.cdishim_cmd()
    return compare(
        Comparison(name, "cdishim create", "runc create (pre-edited)", budget_ms_added=budget),
        _create_step(bench, command, bundle, original, env),
        _create_step(bench, bench.runc_cmd(), edited, None, env),
        runs or bench.runs,
    )


def create_per_python(bench: Bench, launchers: dict[str, str]) -> list[Comparison]:
    """The warm create path under each Python cdishim is installed with (``make test-matrix``'s venvs).

    Each installation gets its own cache dir: a cache is keyed on the
    interpreter, so sharing one would make every other run a miss.
    """
    return [
        create_path(bench, f"create, demo spec (4 devices), cached, Python {label}", str(bench.spec_dir), FOUR_GPUS, 20,
                    env_extra={"CDISHIM_CACHE_DIR": str(bench.work / f"cache-{label.replace(' ', '-')}")},
                    launcher=launcher)
        for label, launcher in launchers.items()
    ]


def lifecycle(bench: Bench, name: str = "full lifecycle (create/start/kill/delete)", budget_ratio: float = 1.35,
              env: dict[str, str] | None = None) -> Comparison:
    """create, start, kill, delete: all through cdishim vs all through runc."""
    env = env or bench.env
    bundle = bench.bundle(f"life-{bench.new_id('b')}", {"cdi.k8s.io/bench": FOUR_GPUS})
    original = (bundle / "config.json").read_bytes()
    edited = bench.pre_edited_copy(bundle, f"life-edited-{bench.new_id('b')}", env)

    def cycle(command_of, path: Path, restore: bool):
        def step() -> float:
            if restore:
                (path / "config.json").write_bytes(original)
            container = bench.new_id("life")
            total = run_timed(command_of("create", "--bundle", str(path), container), env)
            total += run_timed(command_of("start", container), env)
            total += run_timed(command_of("kill", container, "KILL"), env)
            total += run_timed(command_of("delete", "--force", container), env)
            return total

        return step

    return compare(
        Comparison(name, "via cdishim", "bare runc", budget_ratio=budget_ratio),
        cycle(bench.cdishim_cmd, bundle, True),
        cycle(bench.runc_cmd, edited, False),
        bench.runs,
    )


def write_scale_specs(directory: Path, files: int, suffixes: tuple[str, ...] = ("yaml", "json")) -> None:
    """*files* spec files of 10 devices each, alternately of each of *suffixes*, on the mock nodes."""
    directory.mkdir(parents=True, exist_ok=True)
    for index in range(files):
        document = {
            "cdiVersion": "0.6.0",
            "kind": f"scale{index}.example.com/gpu",
            "containerEdits": {"env": [f"SCALE_SPEC={index}"]},
            "devices": [
                {
                    "name": f"gpu{n}",
                    "containerEdits": {
                        "deviceNodes": [{"path": f"/dev/mock/device_{n % 8}"}],
                        "mounts": [{"hostPath": f"/mock/lib/device_{n % 8}.so", "containerPath": f"/usr/lib/scale/gpu{n}.so",
                                    "options": ["ro", "nosuid", "nodev", "bind"]}],
                    },
                }
                for n in range(10)
            ],
        }
        suffix = suffixes[index % len(suffixes)]
        (directory / f"scale-{index:04d}.{suffix}").write_text(json.dumps(document, indent=2))


def registry_scale(bench: Bench, sizes: tuple[int, ...]) -> list[Comparison]:
    """The create path with 1..1,000 spec files, warm cache and (few runs) no cache."""
    results = []
    dirs = {size: bench.work / f"scale-{size}" for size in sizes}
    for size, directory in dirs.items():
        write_scale_specs(directory, size)
    time.sleep(RACY_WAIT_S)
    for size, directory in dirs.items():
        request = ",".join(f"scale0.example.com/gpu=gpu{n}" for n in (1, 3, 5, 7))
        results.append(create_path(bench, f"create, {size} spec files, cached", str(directory), request, 20))
        results.append(
            create_path(bench, f"create, {size} spec files, no cache", str(directory), request, None,
                        runs=3, env_extra={"CDISHIM_CACHE_DIR": ""})
        )
    return results


def hook_wrapper(bench: Bench) -> list[Comparison]:
    """create with one CDI createRuntime hook, wrapped by `cdishim-hook exec` and not.

    B is bare runc on a copy whose config holds the vendor hook unwrapped, so
    the difference is the shim plus (in the first row) the wrapper.
    """
    spec_dir = bench.work / "hook-cdi"
    spec_dir.mkdir()
    (spec_dir / "hooked.json").write_text(json.dumps({
        "cdiVersion": "0.5.0", "kind": "bench.example.com/hooked",
        "devices": [{"name": "dev", "containerEdits": {
            "deviceNodes": [{"path": "/dev/mock/device_0"}],
            "hooks": [{"hookName": "createRuntime", "path": "/bin/true", "args": ["true"]}]}}],
    }))
    unwrapped = bench.work / "no-wrap.toml"
    unwrapped.write_text("wrap-hooks = false\n")
    time.sleep(RACY_WAIT_S)
    env_wrapped = {**bench.env, "CDI_SPEC_DIRS": str(spec_dir)}
    env_unwrapped = {**env_wrapped, "CDISHIM_CONFIG": str(unwrapped)}
    bundle = bench.bundle("hooked", {"cdi.k8s.io/bench": "bench.example.com/hooked=dev"})
    original = (bundle / "config.json").read_bytes()
    edited = bench.pre_edited_copy(bundle, "hooked-edited", env_unwrapped)
    bare = _create_step(bench, bench.runc_cmd(), edited, None, env_unwrapped)
    return [
        compare(Comparison("create, 1 CDI hook, wrapped (cdishim-hook exec)", "cdishim create",
                           "runc create (pre-edited, hook unwrapped)"),
                _create_step(bench, bench.cdishim_cmd(), bundle, original, env_wrapped), bare, bench.runs),
        compare(Comparison("create, 1 CDI hook, wrap-hooks = false", "cdishim create",
                           "runc create (pre-edited, hook unwrapped)"),
                _create_step(bench, bench.cdishim_cmd(), bundle, original, env_unwrapped), bare, bench.runs),
    ]


def three_hooks(bench: Bench) -> Comparison:
    """create with a spec's three cdishim-hook hooks (create-symlinks, update-ldcache, chmod) in one stage.

    A is cdishim with wrap-hooks on: one wrapper process runs all three in
    itself. B is bare runc running the same three hooks unwrapped: three
    cdishim-hook processes, as an engine with its own CDI support would.
    """
    hook = str(Path(bench.cdishim).parent / "cdishim-hook")
    spec_dir = bench.work / "three-hooks-cdi"
    spec_dir.mkdir()
    (spec_dir / "hooks.json").write_text(json.dumps({
        "cdiVersion": "0.5.0", "kind": "bench.example.com/hooks",
        "devices": [{"name": "dev", "containerEdits": {"deviceNodes": [{"path": "/dev/mock/device_0"}], "hooks": [
            {"hookName": "createContainer", "path": hook,
             "args": ["cdishim-hook", "create-symlinks", "--link", "busybox::/usr/local/bin/bench-link"]},
            {"hookName": "createContainer", "path": hook,
             "args": ["cdishim-hook", "update-ldcache", "--folder", "/usr/local/bin"]},
            {"hookName": "createContainer", "path": hook,
             "args": ["cdishim-hook", "chmod", "--mode", "0755", "--path", "/bin/busybox"]},
        ]}}],
    }))
    unwrapped = bench.work / "three-hooks-no-wrap.toml"
    unwrapped.write_text("wrap-hooks = false\n")
    time.sleep(RACY_WAIT_S)
    env = {**bench.env, "CDI_SPEC_DIRS": str(spec_dir)}
    bundle = bench.bundle("three-hooks", {"cdi.k8s.io/bench": "bench.example.com/hooks=dev"})
    original = (bundle / "config.json").read_bytes()
    edited = bench.pre_edited_copy(bundle, "three-hooks-edited", {**env, "CDISHIM_CONFIG": str(unwrapped)})
    return compare(
        Comparison("create, 3 cdishim-hook hooks in one stage, wrapped", "cdishim create",
                   "runc create (pre-edited, 3 hooks unwrapped)", budget_ms_added=25),
        _create_step(bench, bench.cdishim_cmd(), bundle, original, env),
        _create_step(bench, bench.runc_cmd(), edited, None, env), bench.runs)


def passthrough_sh_launcher(bench: Bench) -> Comparison:
    """`state` through the sh launcher (what a compiler-less install keeps) vs runc."""
    launcher = bench.work / "sh-launcher" / "cdishim"
    launcher.parent.mkdir()
    shutil.copy(REPO / "bin" / "cdishim", launcher)
    past = time.time() - 60
    os.utime(launcher, (past, past))  # older than the runtime record the compiled launcher's Python wrote
    bundle = bench.bundle("running-sh", {})
    run_timed(bench.runc_cmd("run", "-d", "--bundle", str(bundle), "bench-running-sh"), bench.env)
    try:
        return compare(
            Comparison("passthrough: state, sh launcher", "cdishim state", "runc state", budget_ms_added=3),
            lambda: run_timed([str(launcher), "--root", str(bench.root), "state", "bench-running-sh"], bench.env),
            lambda: run_timed(bench.runc_cmd("state", "bench-running-sh"), bench.env),
            bench.runs,
        )
    finally:
        bench.delete("bench-running-sh")


PODMAN_KIND = "bench-podman.example.com/gpu"
PODMAN_SPEC = Path("/var/run/cdi/cdishim-bench-podman.yaml")  # podman 4.3 reads only the default dirs
PODMAN_FILLER_PREFIX = "cdishim-bench-filler-"


def podman_native_cdi(bench: Bench, spec_files: tuple[int, ...] = (1, 1000)) -> list[Comparison]:
    """`podman run` through cdishim (annotations) vs podman's own CDI (`--device`) on plain runc.

    Same spec, same image, same 4 devices: B is the independent CDI
    implementation an engine would otherwise use. One row per number of
    spec files in /var/run/cdi (the bench's spec and filler specs of other
    kinds), which both read. Nothing without podman.
    """
    if shutil.which("podman") is None:
        return []
    storage = bench.work / "podman"
    base = ["podman", "--root", str(storage / "root"), "--runroot", str(storage / "run"), "--tmpdir",
            str(storage / "tmp"), "--cgroup-manager", "cgroupfs", "--events-backend", "file"]
    image = "localhost/cdishim-bench:latest"
    rootfs = bench.bundle("podman-image", {}, "true") / "rootfs"
    tar = subprocess.run(["tar", "-C", str(rootfs), "-c", "."], capture_output=True, check=True).stdout
    subprocess.run([*base, "import", "--change", "ENV=PATH=/bin", "-", image], input=tar, capture_output=True,
                   check=True, env=bench.env)
    ctl = str(Path(bench.cdishim).parent / "cdishim-ctl")
    subprocess.run([ctl, "generate", "--kind", PODMAN_KIND, "--device-glob", "/dev/mock/device_*",
                    "--device-mount", "/mock/lib/{name}.so", "--output", str(PODMAN_SPEC), "--force"],
                   check=True, capture_output=True)
    devices = [f"{PODMAN_KIND}=device_{n}" for n in range(4)]
    run = [*base, "run", "--rm", "--network", "none", "--ulimit", "nofile=20000:20000",
           "--ulimit", "nproc=20000:20000"]
    via_cdishim = [*run[:len(base)], "--runtime", bench.cdishim, *run[len(base):],
                   *(arg for n, device in enumerate(devices) for arg in ("--annotation", f"cdi.k8s.io/b{n}={device}")),
                   image, "true"]
    native = [*run[:len(base)], "--runtime", "runc", *run[len(base):],
              *(arg for device in devices for arg in ("--device", device)), image, "true"]
    fillers = bench.work / "podman-fillers"
    rows = []
    try:
        for files in spec_files:
            _remove_podman_fillers()
            shutil.rmtree(fillers, ignore_errors=True)
            write_scale_specs(fillers, files - 1, suffixes=("json",))
            for filler in fillers.glob("*.json"):
                shutil.copy(filler, PODMAN_SPEC.parent / f"{PODMAN_FILLER_PREFIX}{filler.name}")
            time.sleep(RACY_WAIT_S)
            rows.append(compare(
                Comparison(f"podman run (4 devices), {files} spec files: cdishim vs podman's own CDI",
                           "podman + cdishim", "podman --device (native CDI) + runc"),
                lambda: run_timed(via_cdishim, bench.env), lambda: run_timed(native, bench.env), bench.runs))
        return rows
    finally:
        PODMAN_SPEC.unlink(missing_ok=True)
        _remove_podman_fillers()


def _remove_podman_fillers() -> None:
    for filler in PODMAN_SPEC.parent.glob(f"{PODMAN_FILLER_PREFIX}*"):
        filler.unlink()
