"""The resident injector behind the compiled launcher, with real runc: faster, never different.

Every create here runs twice on identical bundles: once through the compiled
launcher (which offers it to the injector) and once through the in-process
Python path. Whatever the injector does (serves, is absent, is killed
mid-request, hangs, refuses the peer, meets a symlinked config.json, a spec
written or removed just before), the two config.json files must be equal
byte for byte: an injector may cost time, never a different container.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from cdishim.injector import protocol
from tests.integration.conftest import gpu_request
from tests.native import build_launcher

BIN = Path(sys.executable).parent
ENTRY = "import sys; from cdishim.shim.main import main; main(sys.argv[1:])"


@pytest.fixture(scope="module")
def launcher(tmp_path_factory):
    """The compiled launcher, installed beside this environment's cdishim-hook and python3."""
    program = BIN / f"cdishim-compiled-{os.getpid()}"
    shutil.copy(build_launcher(tmp_path_factory.mktemp("launcher")), program)
    past = time.time() - 60
    os.utime(program, (past, past))  # runtime records written from now on are newer
    yield program
    program.unlink()


class Node:
    """Settings, spec dir and state shared by an injector and the creates that use it."""

    def __init__(self, root: Path, spec_dir: Path, launcher: Path, runtime_root: Path) -> None:
        self.root, self.spec_dir, self.launcher, self.runtime_root = root, spec_dir, launcher, runtime_root
        self.socket = root / "run" / "injector.sock"
        self.log = root / "cdishim.log"
        self.settings = root / "config.toml"
        self.settings.write_text(f'injector-socket = "{self.socket}"\nlog-file = "{self.log}"\nlog-level = "info"\n')
        past = time.time() - 60
        os.utime(self.settings, (past, past))  # a runtime record written from now on is newer
        self.env = {**os.environ, "CDISHIM_CONFIG": str(self.settings), "CDI_SPEC_DIRS": str(spec_dir),
                    "CDISHIM_CACHE_DIR": str(root / "cache")}
        for name in ("CDISHIM_HANDED_OVER_TO", "CDISHIM_DEBUG", "CDISHIM_PYTHON"):
            self.env.pop(name, None)
        self.injector: subprocess.Popen | None = None

    def start_injector(self) -> None:
        self.injector = subprocess.Popen([str(BIN / "cdishim-injector"), "--socket", str(self.socket)], env=self.env,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while not self.socket.exists():
            assert self.injector.poll() is None, self.injector.stderr.read()
            assert time.monotonic() < deadline, "the injector did not listen"
            time.sleep(0.02)

    def stop_injector(self, sig: int = signal.SIGTERM) -> None:
        if self.injector is not None and self.injector.poll() is None:
            self.injector.send_signal(sig)
            self.injector.wait(10)
        self.injector = None

    def record(self) -> None:
        """Have Python write the runtime record (with the injector's socket) that the launcher trusts."""
        subprocess.run([str(self.launcher), "--root", str(self.runtime_root), "state", "none"], env=self.env,
                       capture_output=True)

    def create(self, bundle: Path, container: str, in_process: bool = False) -> tuple[int, str]:
        """Create through the compiled launcher, or straight through the in-process path; then delete."""
        argv = ["--root", str(self.runtime_root), "create", "--bundle", str(bundle), container]
        command = [sys.executable, "-I", "-c", ENTRY, str(self.launcher), *argv] if in_process \
            else [str(self.launcher), *argv]
        with open(self.root / f"{container}.out", "w+") as out:  # runc hands its stdio to the container
            status = subprocess.run(command, env=self.env, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                    timeout=60).returncode
            out.seek(0)
            output = out.read()
        subprocess.run(["runc", "--root", str(self.runtime_root), "delete", "--force", container], capture_output=True)
        return status, output

    def served(self) -> int:
        """How many creates the injector injected (its log records)."""
        if not self.log.exists():
            return 0
        return sum(1 for line in self.log.read_text().splitlines()
                   if json.loads(line).get("injector") and json.loads(line)["event"] == "injected CDI devices")


@pytest.fixture
def node(tmp_path, spec_dir, launcher):
    node = Node(tmp_path, spec_dir, launcher, tmp_path / "runc-state")
    node.record()
    yield node
    node.stop_injector(signal.SIGKILL)


def twins(make_bundle, annotations: dict[str, str]) -> tuple[Path, Path]:
    """Two identical bundles: one for the launcher, one for the in-process path."""
    first = make_bundle(annotations, "true")
    second = first.parent / f"{first.name}-in-process"
    shutil.copytree(first, second, symlinks=True)
    return first, second


def assert_same_outcome(node: Node, make_bundle, annotations: dict[str, str], name: str) -> tuple[int, str]:
    through_launcher, in_process = twins(make_bundle, annotations)
    status, output = node.create(through_launcher, f"{name}-l")
    expected_status, expected_output = node.create(in_process, f"{name}-p", in_process=True)
    assert (status, output) == (expected_status, expected_output)
    assert (through_launcher / "config.json").read_bytes() == (in_process / "config.json").read_bytes()
    return status, output


def test_a_serving_injector_gives_what_the_in_process_path_gives(node, make_bundle):
    node.start_injector()
    for number in range(3):
        status, _ = assert_same_outcome(node, make_bundle, gpu_request(number, number + 4), f"served{number}")
        assert status == 0
    assert node.served() == 3


def test_without_an_injector_the_in_process_path_runs(node, make_bundle):
    status, _ = assert_same_outcome(node, make_bundle, gpu_request(1), "absent")
    assert status == 0 and node.served() == 0


def test_errors_are_worded_by_the_in_process_path(node, make_bundle):
    node.start_injector()
    status, output = assert_same_outcome(node, make_bundle, gpu_request(99), "unresolvable")
    assert status == 1 and output == "cdishim: unresolvable CDI devices mock.com/gpu=device_99\n"


@pytest.mark.parametrize("hang", ["never answers", "accept queue full"])
def test_a_hung_injector_costs_its_timeout_then_the_in_process_path_runs(node, make_bundle, hang):
    node.socket.parent.mkdir(mode=0o700)
    hung = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    hung.bind(str(node.socket))
    fillers = []
    if hang == "never answers":
        hung.listen(8)  # accepts connections (the kernel does) and never answers
    else:
        hung.listen(0)  # never accepts: a connect would wait for room in the queue forever
        while True:
            filler = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_NONBLOCK)
            fillers.append(filler)
            try:
                filler.connect(str(node.socket))
            except BlockingIOError:
                break
    try:
        started = time.monotonic()
        status, _ = assert_same_outcome(node, make_bundle, gpu_request(2), hang.replace(" ", "-"))
        elapsed = time.monotonic() - started
        assert status == 0 and elapsed < 15
        if hang == "never answers":
            assert elapsed >= 2
    finally:
        hung.close()
        for filler in fillers:
            filler.close()


def test_an_injector_socket_of_another_user_is_never_sent_a_bundle(node, make_bundle):
    """Whoever listens on the recorded path must be root (or the launcher's user) to get a bundle fd."""
    node.socket.parent.mkdir(mode=0o700)
    # Bound as root (the dir is root's), listening as nobody: SO_PEERCRED says nobody.
    code = ("import os, socket, sys\n"
            "s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); s.bind(sys.argv[1])\n"
            "os.setgid(65534); os.setuid(65534); s.listen(8); s.settimeout(30)\n"
            "print('listening', flush=True)\n"
            "c, _ = s.accept(); c.settimeout(10)\n"
            "data, fds, _, _ = socket.recv_fds(c, 65536, 1)\n"
            "print('received %d bytes and %d fds' % (len(data), len(fds)), flush=True)")
    listener = subprocess.Popen(["/usr/bin/python3", "-I", "-c", code, str(node.socket)], stdout=subprocess.PIPE,
                                text=True)
    try:
        assert listener.stdout.readline().strip() == "listening"
        status, _ = assert_same_outcome(node, make_bundle, gpu_request(4), "other-user")
        assert status == 0
        assert listener.stdout.readline().strip() == "received 0 bytes and 0 fds"
    finally:
        listener.kill()
        listener.wait()


def test_an_injector_killed_at_random_points_never_changes_a_container(node, make_bundle):
    rng = random.Random(20261126)
    node.start_injector()
    stop = threading.Event()

    def killer() -> None:
        while not stop.is_set():
            time.sleep(rng.uniform(0.0, 0.4))  # up to a few creates long: some are served, some cut
            node.stop_injector(signal.SIGKILL)
            node.start_injector()

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    try:
        for number in range(20):
            status, _ = assert_same_outcome(node, make_bundle, gpu_request(number % 8), f"killed{number}")
            assert status == 0
    finally:
        stop.set()
        thread.join(10)
    assert node.served() > 0  # the injector did serve between kills: not every create fell back


def request(path: Path, bundle: Path, fields: dict[str, str], version: int = protocol.VERSION) -> str:
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as client:
        client.connect(str(path))
        fd = os.open(bundle, os.O_RDONLY | os.O_DIRECTORY)
        try:
            socket.send_fds(client, [protocol.encode_request(fields, version)], [fd])
        finally:
            os.close(fd)
        return client.recv(512).decode().strip()


def test_another_protocol_version_is_sent_to_the_in_process_path(node, make_bundle):
    node.start_injector()
    bundle = make_bundle(gpu_request(0), "true")
    fields = {"launcher": str(node.launcher), "runtime": "/usr/sbin/runc", "config": str(node.settings),
              "spec-dirs": str(node.spec_dir), "cache-dir": node.env["CDISHIM_CACHE_DIR"]}
    assert request(node.socket, bundle, fields, version=2) == \
        "fallback protocol version 2 is not served (this injector speaks 1)"
    assert request(node.socket, bundle, {**fields, "spec-dirs": "/elsewhere"}).startswith("fallback the launcher's")
    assert request(node.socket, bundle, fields) == "injected"


def test_a_peer_that_is_neither_root_nor_the_injectors_user_is_refused(node, tmp_path):
    import tempfile

    node.start_injector()
    # Only so that the test's unprivileged child can reach the socket at all: a link in an open dir.
    reachable = Path(tempfile.mkdtemp(prefix="cdishim-injector-"))
    os.chmod(reachable, 0o755)
    os.chmod(node.socket, 0o666)
    os.link(node.socket, reachable / "injector.sock")
    # The child needs nothing but the standard library of the system's Python, and drops to nobody.
    code = ("import os, socket, sys; os.setgid(65534); os.setuid(65534)\n"
            "c = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); c.connect(sys.argv[1])\n"
            "fd = os.open('/', os.O_RDONLY | os.O_DIRECTORY)\n"
            "socket.send_fds(c, [bytes.fromhex(sys.argv[2])], [fd])\n"
            "print(c.recv(512).decode().strip())")
    payload = protocol.encode_request({"launcher": "x", "runtime": "y", "config": "z"}).hex()
    try:
        result = subprocess.run(["/usr/bin/python3", "-I", "-c", code, str(reachable / "injector.sock"), payload],
                                capture_output=True, text=True)
    finally:
        shutil.rmtree(reachable)
    assert result.stdout.strip() == "fallback peer uid 65534 is not served", result.stderr


def test_a_symlinked_config_json_is_left_to_the_in_process_path(node, make_bundle):
    node.start_injector()
    through_launcher, in_process = twins(make_bundle, gpu_request(3))
    for bundle in (through_launcher, in_process):
        (bundle / "real-config.json").write_bytes((bundle / "config.json").read_bytes())
        (bundle / "config.json").unlink()
        (bundle / "config.json").symlink_to("real-config.json")
    assert node.create(through_launcher, "link-l") == node.create(in_process, "link-p", in_process=True)
    assert (through_launcher / "config.json").read_bytes() == (in_process / "config.json").read_bytes()
    assert node.served() == 0


def test_a_spec_written_or_removed_just_before_a_create_is_seen(node, make_bundle, tmp_path):
    node.start_injector()
    assert assert_same_outcome(node, make_bundle, gpu_request(0), "warm")[0] == 0  # the injector holds a registry
    extra = tmp_path / "extra-spec.json"
    extra.write_text(json.dumps({"cdiVersion": "0.6.0", "kind": "late.example/dev",
                                 "devices": [{"name": "d0", "containerEdits": {"env": ["LATE=1"]}}]}))
    os.rename(extra, node.spec_dir / "late.json")  # renamed into place, then the create starts
    try:
        assert assert_same_outcome(node, make_bundle, {"cdi.k8s.io/x": "late.example/dev=d0"}, "late")[0] == 0
        assert node.served() == 2
    finally:
        (node.spec_dir / "late.json").unlink()
    status, output = assert_same_outcome(node, make_bundle, {"cdi.k8s.io/x": "late.example/dev=d0"}, "gone")
    assert status == 1 and "unresolvable CDI devices late.example/dev=d0" in output


def spec_text(kind: str, value: int) -> str:
    """A spec of *kind* whose device d0 sets ``<VENDOR>_VALUE=value``."""
    return json.dumps({"cdiVersion": "0.6.0", "kind": kind, "devices": [
        {"name": "d0", "containerEdits": {"env": [f"{kind.split('.')[0].upper()}_VALUE={value}"]}}]})


def test_a_spec_rewritten_in_place_or_behind_a_symlink_is_seen(node, make_bundle, tmp_path):
    """No rename, so the spec dir itself does not change: only inotify (or the target's stat) can tell."""
    node.start_injector()
    in_place, target, link = node.spec_dir / "in-place.json", tmp_path / "linked-target.json", node.spec_dir / "linked.json"
    in_place.write_text(spec_text("inplace.example/dev", 1))
    target.write_text(spec_text("linked.example/dev", 1))
    link.symlink_to(target)
    time.sleep(2.1)  # past the racy window: a change that follows is known only by inotify or the link's stat
    request = {"cdi.k8s.io/x": "inplace.example/dev=d0", "cdi.k8s.io/y": "linked.example/dev=d0"}
    try:
        assert assert_same_outcome(node, make_bundle, request, "first")[0] == 0
        for step, (path, kind) in enumerate(((in_place, "inplace.example/dev"), (target, "linked.example/dev"))):
            with open(path, "r+") as spec:  # same inode, same size, same dir: one change at a time
                spec.write(spec_text(kind, 2))
            through_launcher, in_process = twins(make_bundle, request)
            assert node.create(through_launcher, f"step{step}-l") == node.create(in_process, f"step{step}-p",
                                                                                 in_process=True)
            config = (through_launcher / "config.json").read_bytes()
            assert config == (in_process / "config.json").read_bytes() and config.count(b"_VALUE=2") == step + 1
        assert node.served() == 3
    finally:
        in_place.unlink()
        link.unlink()


def test_an_injector_whose_code_was_replaced_leaves_creates_to_python_and_exits(node, make_bundle):
    """An upgrade under a running injector: the next create runs the new code in-process."""
    node.start_injector()
    assert assert_same_outcome(node, make_bundle, gpu_request(1), "before")[0] == 0
    module = Path(protocol.__file__)
    stat = module.stat()
    os.utime(module, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # as a new install would
    try:
        assert assert_same_outcome(node, make_bundle, gpu_request(1), "after")[0] == 0
        assert node.injector.wait(10) == 0
        assert node.served() == 1
    finally:
        os.utime(module, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_fifty_parallel_creates_through_one_injector(node, make_bundle):
    node.start_injector()
    bundles = [make_bundle(gpu_request(number % 8), "true") for number in range(50)]

    def create(job: int) -> tuple[int, str]:
        return node.create(bundles[job], f"parallel{job}")

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(create, range(50)))
    assert all(status == 0 for status, _ in results), results
    for number, bundle in enumerate(bundles):
        config = json.loads((bundle / "config.json").read_text())
        devices = [device["path"] for device in config["linux"]["devices"] if device["path"].startswith("/dev/mock/")]
        assert devices == [f"/dev/mock/device_{number % 8}"]
    assert node.served() == 50
