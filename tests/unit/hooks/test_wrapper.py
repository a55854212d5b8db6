"""The hook wrapper: declared env only (no LD_*), cwd /, stdin forwarded, timeout enforced."""

from __future__ import annotations

import io
import json
import time

import pytest

from cdishim.hooks.main import main


def run_wrapper(monkeypatch, capsys, tmp_path, *argv: str, state: bytes = b'{"id": "c1"}') -> tuple[int, str]:
    monkeypatch.setenv("CDISHIM_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("LD_PRELOAD", "/inherited-evil.so")  # must not reach the hook
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(state)))
    status = main(["exec", *argv])
    return status, capsys.readouterr().err


def test_hook_gets_declared_env_without_ld_vars_cwd_root_and_the_state(monkeypatch, capsys, tmp_path):
    out = tmp_path / "seen"
    script = f"{{ env | sort; pwd; cat; echo; grep NoNewPrivs /proc/self/status; }} > {out}"
    status, err = run_wrapper(monkeypatch, capsys, tmp_path, "--env", "A=1", "--env", "LD_PRELOAD=/evil.so",
                              "--env", "LD_LIBRARY_PATH=/evil", "--", "/bin/sh", "sh", "-c", script,
                              state=b'{"id": "c1", "pid": 42}')
    assert (status, err) == (0, "")
    lines = out.read_text().splitlines()
    env = [line for line in lines if "=" in line and not line.startswith("{")]
    assert [e for e in env if not e.startswith(("PWD=", "SHLVL=", "_="))] == ["A=1"]
    assert "/" in lines and '{"id": "c1", "pid": 42}' in lines
    assert any(line.split() == ["NoNewPrivs:", "1"] for line in lines)


def test_failing_hook_fails_with_its_status(monkeypatch, capsys, tmp_path):
    status, err = run_wrapper(monkeypatch, capsys, tmp_path, "--", "/bin/sh", "sh", "-c", "exit 3")
    assert status == 1 and err == 'cdishim-hook exec: hook "/bin/sh" exited with status 3\n'


def test_timeout_kills_the_hook_and_its_children(monkeypatch, capsys, tmp_path):
    marker = tmp_path / "late"
    started = time.monotonic()
    status, err = run_wrapper(monkeypatch, capsys, tmp_path, "--timeout", "0.5", "--",
                              "/bin/sh", "sh", "-c", f"(sleep 2; touch {marker}) & sleep 30")
    assert status == 1 and err == 'cdishim-hook exec: hook "/bin/sh" timed out after 0.5s\n'
    assert time.monotonic() - started < 5
    time.sleep(2.5)
    assert not marker.exists()


@pytest.mark.parametrize("argv, message", [
    (["--", "sh", "-c", "true"], 'hook path "sh" must be absolute'),
    (["--", "/nonexistent/hook"], 'cannot run hook "/nonexistent/hook": No such file or directory'),
    (["--env", "NOEQUALS", "--", "/bin/true"], 'expected KEY=VALUE'),
    ([], "missing -- PATH"),
])
def test_bad_invocations(monkeypatch, capsys, tmp_path, argv, message):
    status, err = run_wrapper(monkeypatch, capsys, tmp_path, *argv)
    assert status == 1 and message in err and err.count("\n") == 1


def test_outcome_is_logged(monkeypatch, capsys, tmp_path):
    log = tmp_path / "cdishim.log"
    config = tmp_path / "config.toml"
    config.write_text(f'log-file = "{log}"\nlog-level = "info"\n')
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"{}")))
    monkeypatch.setenv("CDISHIM_CONFIG", str(config))
    monkeypatch.setenv("CDISHIM_CACHE_DIR", "")
    assert main(["exec", "--", "/bin/true"]) == 0
    record = json.loads(log.read_text().splitlines()[-1])
    assert record["event"] == "hook finished" and record["hook"] == "/bin/true" and record["status"] == 0


def test_the_hooks_of_a_stage_run_in_order_and_stop_at_the_first_failure(monkeypatch, capsys, tmp_path):
    log = tmp_path / "order"
    status, err = run_wrapper(
        monkeypatch, capsys, tmp_path,
        "--env", "N=1", "--argc", "3", "--", "/bin/sh", "sh", "-c", f'echo "first $N" >> {log}',
        "--argc", "3", "--", "/bin/sh", "sh", "-c", f"echo second >> {log}; exit 4",
        "--argc", "3", "--", "/bin/sh", "sh", "-c", f"echo third >> {log}")
    assert status == 1 and err == 'cdishim-hook exec: hook "/bin/sh" exited with status 4\n'
    assert log.read_text().splitlines() == ["first 1", "second"]  # the hook after the failing one did not run


def test_each_hook_of_a_stage_keeps_its_own_env_and_timeout(monkeypatch, capsys, tmp_path):
    log = tmp_path / "env"
    started = time.monotonic()
    status, err = run_wrapper(
        monkeypatch, capsys, tmp_path,
        "--env", "ONLY_FIRST=1", "--argc", "3", "--", "/bin/sh", "sh", "-c", f"env | grep ONLY_ >> {log}; true",
        "--timeout", "0.5", "--argc", "3", "--", "/bin/sh", "sh", "-c", f"env | grep ONLY_ >> {log}; sleep 30")
    assert status == 1 and err == 'cdishim-hook exec: hook "/bin/sh" timed out after 0.5s\n'
    assert time.monotonic() - started < 5
    assert log.read_text().splitlines() == ["ONLY_FIRST=1"]


@pytest.mark.parametrize("argv, message", [
    (["--argc", "5", "--", "/bin/true", "true"], "--argc 5: only 1 arguments follow"),
    (["--argc", "x", "--", "/bin/true"], '--argc "x": expected a count'),
    (["--argc", "0", "--", "/bin/true"], None),  # no argv: the hook runs as its own argv0
    (["--argc", "1", "--", "/bin/true", "true", "--bogus"], 'unknown option "--bogus"'),
])
def test_groups_are_counted_exactly(monkeypatch, capsys, tmp_path, argv, message):
    status, err = run_wrapper(monkeypatch, capsys, tmp_path, *argv)
    if message is None:
        assert (status, err) == (0, "")
    else:
        assert status == 1 and message in err and err.count("\n") == 1


@pytest.mark.parametrize("pidfds", ["absent from this Python", "refused by the kernel"])
def test_without_pidfds_the_exit_is_still_waited_for_and_timeouts_hold(monkeypatch, capsys, tmp_path, pidfds):
    import os

    if pidfds == "absent from this Python":
        monkeypatch.delattr(os, "pidfd_open", raising=False)
    else:
        def refused(pid: int) -> int:
            raise OSError(38, "Function not implemented")

        monkeypatch.setattr(os, "pidfd_open", refused)
    assert run_wrapper(monkeypatch, capsys, tmp_path, "--", "/bin/sh", "sh", "-c", "sleep 0.1; exit 4") == \
        (1, 'cdishim-hook exec: hook "/bin/sh" exited with status 4\n')
    status, err = run_wrapper(monkeypatch, capsys, tmp_path, "--timeout", "0.3", "--", "/bin/sleep", "sleep", "5")
    assert (status, err) == (1, 'cdishim-hook exec: hook "/bin/sleep" timed out after 0.3s\n')
