"""The launchers: the sh script (bin/cdishim) and the compiled one (launcher/cdishim.c), with a fake Python and runtime.

Every test runs both: they follow one table and one set of rules.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from cdishim.oci.runtime_record import record_text
from tests.native import build_launcher
from tests.unit.shim.argv_table import CASES, IDS

SH_LAUNCHER = Path(__file__).resolve().parents[3] / "bin" / "cdishim"


@pytest.fixture(scope="session")
def compiled_launcher(tmp_path_factory) -> Path:
    return build_launcher(tmp_path_factory.mktemp("launcher"))


@pytest.fixture(params=["sh", "compiled"])
def launcher_kind(request) -> str:
    return request.param


@pytest.fixture
def source(launcher_kind, request) -> Path:
    """The launcher program of this kind, as the repository holds or builds it."""
    return SH_LAUNCHER if launcher_kind == "sh" else request.getfixturevalue("compiled_launcher")


@pytest.fixture
def world(tmp_path, source):
    """A fake python and runtime that say who ran, and a trusted runtime record."""
    fake_python = tmp_path / "fake-python"
    fake_python.write_text('#!/bin/sh\necho "python $*"\n')
    runtime = tmp_path / "fake-runc"
    runtime.write_text('#!/bin/sh\necho "runtime HANDED_OVER_TO=$CDISHIM_HANDED_OVER_TO $*"\n')
    for program in (fake_python, runtime):
        program.chmod(0o755)
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    config = tmp_path / "config.toml"
    env = {
        "PATH": "/usr/bin:/bin",
        "CDISHIM_PYTHON": str(fake_python),
        "CDISHIM_CACHE_DIR": str(cache),
        "CDISHIM_CONFIG": str(config),
    }
    launcher = installed_launcher(tmp_path / "bin", source)
    (cache / "runtime").write_text(record_text(str(config), env["PATH"], str(runtime)))
    return {"env": env, "cache": cache, "config": config, "runtime": runtime, "launcher": launcher}


def launch(world, *argv: str, **env: str) -> str:
    result = subprocess.run(
        [str(world["launcher"]), *argv], env={**world["env"], **env}, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_launcher_follows_the_shared_table(world, case):
    output = launch(world, *case["argv"])
    assert output.split()[0] == case["launcher"]
    if case["launcher"] == "runtime":
        assert output == f"runtime HANDED_OVER_TO={world['runtime']} {' '.join(case['argv'])}".rstrip()
    else:
        assert output.startswith("python -I -c ")
        assert output.endswith(f" {world['launcher']} {' '.join(case['argv'])}".rstrip())


@pytest.mark.parametrize(
    "spoil",
    [
        "remove the record",
        "record for another config",
        "record for another PATH",
        "runtime not executable",
        "config newer than record",
        "record is a symlink",
        "loop marker set",
    ],
)
def test_untrusted_or_stale_records_go_to_python(world, spoil):
    record = world["cache"] / "runtime"
    env = {}
    if spoil == "remove the record":
        record.unlink()
    elif spoil == "record for another config":
        record.write_text(record_text("/etc/other.toml", world["env"]["PATH"], str(world["runtime"])))
    elif spoil == "record for another PATH":
        env["PATH"] = "/bin"
    elif spoil == "runtime not executable":
        world["runtime"].chmod(0o644)
    elif spoil == "config newer than record":
        world["config"].write_text("")
        future = time.time() + 10
        os.utime(world["config"], (future, future))
    elif spoil == "record is a symlink":
        real = world["cache"] / "real-record"
        record.rename(real)
        record.symlink_to(real)
    elif spoil == "loop marker set":
        env["CDISHIM_HANDED_OVER_TO"] = "/usr/sbin/runc"
    assert launch(world, "state", "x", **env).startswith("python ")


def test_an_existing_older_config_keeps_the_fast_path(world):
    world["config"].write_text("")
    past = time.time() - 10
    os.utime(world["config"], (past, past))
    assert launch(world, "state", "x").startswith("runtime ")


def test_an_empty_cache_dir_disables_the_fast_path(world):
    assert launch(world, "state", "x", CDISHIM_CACHE_DIR="").startswith("python ")


def installed_launcher(directory: Path, source: Path) -> Path:
    """The launcher *source* copied into *directory*, as an install puts it, installed a minute ago."""
    directory.mkdir(parents=True, exist_ok=True)
    launcher = directory / "cdishim"
    launcher.write_bytes(source.read_bytes())
    launcher.chmod(0o755)
    past = time.time() - 60
    os.utime(launcher, (past, past))  # records written from now on are newer
    return launcher


def run_installed(launcher: Path, *argv: str, tmp_path: Path, **env_vars: str) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "CDISHIM_CACHE_DIR": "", "CDISHIM_CONFIG": str(tmp_path / "absent.toml"), **env_vars}
    return subprocess.run([str(launcher), *argv], env=env, capture_output=True, text=True)


def fake_python(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('#!/bin/sh\nprintf "python %s\\n" "$0"\nprintf "%s\\n" "$@"\n')
    path.chmod(0o755)
    return path


HOOK_FIRST_LINES = {
    "shebang": "#!{python}\n# -*- coding: utf-8 -*-\n",
    "shebang with blanks and an option": "#!  {python} -I\n",
    "shebang with CRLF": "#!{python}\r\n",
    "pip's long-path form": "#!/bin/sh\n'''exec' {python} \"$0\" \"$@\"\n",
    "pip's long-path form, quoted": "#!/bin/sh\n'''exec' \"{python}\" \"$0\" \"$@\"\n",
    "env": "#!/usr/bin/env python3.9\n",
}


@pytest.mark.parametrize("form", ["venv", *HOOK_FIRST_LINES])
def test_the_launcher_runs_the_python_it_was_installed_with(tmp_path, form, source):
    # A path with a space cannot be on a #! line: pip then writes its quoted long-path form.
    python = fake_python(tmp_path / ("pythons dir" if form.endswith("quoted") else "pythons") / "python3.9")
    bin_dir = tmp_path / "bin"
    launcher = installed_launcher(bin_dir, source)
    if form == "venv":
        (bin_dir / "python3").symlink_to(python)
        (tmp_path / "pyvenv.cfg").write_text("home = /x\n")
        expected = bin_dir / "python3"
    else:
        (bin_dir / "cdishim-hook").write_text(HOOK_FIRST_LINES[form].format(python=python) + "import sys\n")
        expected = python
    env_path = f"{python.parent}:/usr/bin:/bin" if form == "env" else "/usr/bin:/bin"
    result = run_installed(launcher, "create", "--bundle", "/b", "x", tmp_path=tmp_path, PATH=env_path)
    assert result.stdout.splitlines()[0] == f"python {expected}", result.stderr


def test_a_python3_beside_the_launcher_outside_a_venv_is_not_used(tmp_path, source):
    """`make install` puts cdishim in /usr/local/bin, where some other python3 may live too."""
    mine, other = fake_python(tmp_path / "mine" / "python3"), fake_python(tmp_path / "bin" / "python3")
    launcher = installed_launcher(tmp_path / "bin", source)
    (tmp_path / "bin" / "cdishim-hook").write_text(f"#!{mine}\n")
    result = run_installed(launcher, "create", "x", tmp_path=tmp_path)
    assert result.stdout.splitlines()[0] == f"python {mine}" and str(other) not in result.stdout


def test_a_symlinked_launcher_runs_its_venvs_python(tmp_path, source):
    venv = tmp_path / "venv"
    launcher = installed_launcher(venv / "bin", source)
    (venv / "bin" / "python3").symlink_to(fake_python(tmp_path / "python3.9"))
    (venv / "pyvenv.cfg").write_text("home = /x\n")
    link = tmp_path / "local" / "cdishim"
    link.parent.mkdir()
    link.symlink_to(launcher)
    result = run_installed(link, "create", "x", tmp_path=tmp_path)
    lines = result.stdout.splitlines()
    assert lines[0] == f"python {venv / 'bin' / 'python3'}"
    assert lines[-3:] == [str(launcher), "create", "x"]  # cdishim learns where it really is


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_a_venv_whose_python_is_gone_fails_in_one_line_and_never_falls_back(tmp_path, log_format, source):
    bin_dir = tmp_path / "venv" / "bin"
    launcher = installed_launcher(bin_dir, source)
    (bin_dir / "python3").symlink_to(tmp_path / "removed" / "python3.9")
    (tmp_path / "venv" / "pyvenv.cfg").write_text("home = /x\n")
    log = tmp_path / "runc.log"
    result = run_installed(launcher, "--log", str(log), f"--log-format={log_format}", "create", "x", tmp_path=tmp_path)
    message = (f"cdishim: the Python cdishim was installed with, {bin_dir / 'python3'}, is missing "
               f"(a link to {tmp_path / 'removed' / 'python3.9'}); reinstall cdishim")
    assert (result.returncode, result.stdout, result.stderr) == (1, "", message + "\n")
    line = log.read_text()
    if log_format == "json":
        import json

        record = json.loads(line)
        assert (record["level"], record["msg"]) == ("error", message)
    else:
        assert line.startswith('time="') and line.endswith(f' level=error msg="{message}"\n')


def test_the_launchers_have_the_same_defaults_as_python():
    from cdishim import defaults

    text = SH_LAUNCHER.read_text()
    assert f"${{CDISHIM_CACHE_DIR-{defaults.CACHE_DIR}}}" in text
    assert f"${{CDISHIM_CONFIG:-{defaults.SETTINGS_FILE}}}" in text
    compiled = (SH_LAUNCHER.parents[1] / "launcher" / "cdishim.c").read_text()
    assert f'#define DEFAULT_CACHE_DIR "{defaults.CACHE_DIR}"' in compiled
    assert f'#define DEFAULT_SETTINGS_FILE "{defaults.SETTINGS_FILE}"' in compiled


def test_a_record_older_than_the_launcher_goes_to_python(world, tmp_path, source):
    launcher = installed_launcher(tmp_path / "upgraded", source)
    record = world["cache"] / "runtime"
    past = time.time() - 100
    os.utime(record, (past, past))  # the launcher was replaced (upgraded) after the record was written
    env = {**world["env"]}
    result = subprocess.run([str(launcher), "state", "x"], env=env, capture_output=True, text=True, check=True)
    assert result.stdout.startswith("python ")
    os.utime(record, None)
    later = time.time() + 5
    os.utime(record, (later, later))
    result = subprocess.run([str(launcher), "state", "x"], env=env, capture_output=True, text=True, check=True)
    assert result.stdout.startswith("runtime ")


def test_a_python_that_cannot_import_cdishim_fails_in_one_line(tmp_path, source):
    """A venv whose python3 now runs another minor version: one line and a runc log record, no traceback."""
    import json
    import sys

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)  # no cdishim in it
    launcher = installed_launcher(venv / "bin", source)
    log = tmp_path / "runc.log"
    result = run_installed(launcher, "--log", str(log), "--log-format", "json", "create", "x", tmp_path=tmp_path)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("cdishim: ") and "cannot import cdishim (No module named 'cdishim')" in result.stderr
    assert json.loads(log.read_text())["msg"] == result.stderr.strip()


def interpreter_record(world, launcher: Path, python: Path, syspath: str = "/lib/a:/lib/b") -> None:
    """A trusted record that names *launcher*, *python* and *syspath*, as a create through *launcher* writes it."""
    text = record_text(str(world["config"]), world["env"]["PATH"], str(world["runtime"]))
    (world["cache"] / "runtime").write_text(
        f"{text}launcher={os.path.realpath(launcher)}\npython={python}\nsyspath={syspath}\n")


def python_args(output: str) -> list[str]:
    """The fake Python's arguments, from its "python ARG ..." line (the bootstrap is one multi-line ARG)."""
    return output.split("\n", 1)[0].split()[1:]


@pytest.mark.parametrize("launcher_kind", ["compiled"])
@pytest.mark.parametrize("record_names", ["this launcher and python", "another launcher", "another python", "nothing"])
def test_the_compiled_launcher_starts_the_recorded_python_with_its_sys_path(world, record_names):
    python = Path(world["env"]["CDISHIM_PYTHON"])
    if record_names == "this launcher and python":
        interpreter_record(world, world["launcher"], python)
    elif record_names == "another launcher":
        interpreter_record(world, world["launcher"].parent / "other", python)
    elif record_names == "another python":
        interpreter_record(world, world["launcher"], Path("/usr/bin/python3"))
    output = launch(world, "--root", "/r", "create", "--bundle", "/b", "x")
    assert output.endswith(f" {world['launcher']} --root /r create --bundle /b x")
    fast = record_names == "this launcher and python"
    assert python_args(output)[:3] == (["-I", "-S", "-c"] if fast else ["-I", "-c", "import"])
    assert f" /lib/a:/lib/b {world['launcher']} --root" in output if fast else "/lib/a" not in output


@pytest.mark.parametrize("launcher_kind", ["compiled"])
@pytest.mark.parametrize("fast", [True, False])
def test_run_as_cdishim_hook_the_compiled_launcher_starts_the_hook_wrapper(world, fast):
    """Hook entries run the launcher with args[0] cdishim-hook; its PATH is not the engine's."""
    if fast:
        interpreter_record(world, world["launcher"], Path(world["env"]["CDISHIM_PYTHON"]))
    argv = ["/usr/bin/cdishim-hook", "exec", "--timeout", "5", "--", "/usr/bin/vendor", "vendor", "create"]
    env = {**world["env"], "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    result = subprocess.run(argv, executable=str(world["launcher"]), env=env, capture_output=True, text=True, check=True)
    output = result.stdout.strip()
    assert "from cdishim.hooks.main import main" in output and "cdishim.shim" not in output
    assert python_args(output)[:2] == (["-I", "-S"] if fast else ["-I", "-c"])
    assert output.endswith(f" {world['launcher']} exec --timeout 5 -- /usr/bin/vendor vendor create")


class FakeInjector:
    """A socket that answers "fallback" to every request and notes the bundle directory it was handed."""

    def __init__(self, path: Path) -> None:
        import socket
        import threading

        path.parent.mkdir(mode=0o700)
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.listener.bind(str(path))
        self.listener.listen(8)
        self.bundles: list[str] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        import socket

        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with conn:
                _, fds, _, _ = socket.recv_fds(conn, 65536, 1)
                for fd in fds:
                    self.bundles.append(os.readlink(f"/proc/self/fd/{fd}"))
                    os.close(fd)
                conn.send(b"fallback noted\n")

    def close(self) -> None:
        self.listener.close()


@pytest.mark.parametrize("launcher_kind", ["compiled"])
@pytest.mark.parametrize("case", [case for case in CASES if "bundle" in case], ids=lambda case: " ".join(case["argv"]))
def test_the_compiled_launcher_hands_the_injector_the_bundle_runc_takes(world, tmp_path, case):
    injector = FakeInjector(tmp_path / "injector" / "injector.sock")
    record = record_text(str(world["config"]), world["env"]["PATH"], str(world["runtime"]), str(injector.listener.getsockname()))
    (world["cache"] / "runtime").write_text(record)
    cwd = tmp_path / "cwd"
    for name in ("one", "two"):
        (cwd / name).mkdir(parents=True)
    try:
        result = subprocess.run([str(world["launcher"]), *case["argv"]], env=world["env"], cwd=cwd,
                                capture_output=True, text=True, check=True)
    finally:
        injector.close()
    assert result.stdout.startswith("python ")  # "fallback": the in-process path runs
    assert injector.bundles == [str(cwd / case["bundle"]).rstrip("/")]
