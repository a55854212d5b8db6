"""The Python parser against the shared table, and the launcher invariant."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cdishim.shim.argv import parse_runc_argv
from tests.unit.shim.argv_table import CASES, IDS


def python_decision(argv: list[str]) -> str:
    command = parse_runc_argv(argv)
    if command.injects:
        return "inject"
    return "version" if command.wants_version else "passthrough"


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_python_parser(case):
    assert python_decision(case["argv"]) == case["python"]


@pytest.mark.parametrize("case", [case for case in CASES if "bundle" in case], ids=lambda case: " ".join(case["argv"]))
def test_python_takes_the_bundle_runc_takes(case):
    assert parse_runc_argv(case["argv"]).bundle("/cwd") == f"/cwd/{case['bundle']}".rstrip("/")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_launcher_never_bypasses_python_when_python_has_work(case):
    if case["python"] != "passthrough":
        assert case["launcher"] == "python"


TOKENS = ["create", "run", "state", "--root", "-root", "/r", "-b", "--bundle", "id", "--", "-", "--version", "-v",
          "--debug", "--log=/l", "--bogus", "---x", "--systemd-cgroup=true"]


def launcher_decision(argv: list[str]) -> str:
    """The launcher's rules, restated: used to check them against the parser on random input."""
    expect_value = version = False
    subcommand = None
    dashdash = False
    for arg in argv:
        if expect_value:
            expect_value = False
            continue
        if dashdash:
            subcommand = arg
            break
        if arg == "--":
            dashdash = True
            continue
        if arg == "-" or not arg.startswith("-"):
            subcommand = arg
            break
        flag = arg[2:] if arg.startswith("--") else arg[1:]
        name = flag.partition("=")[0]
        if name in ("version", "v"):
            version = True
        elif name in ("log", "log-format", "root", "criu", "rootless"):
            expect_value = "=" not in flag
        elif name not in ("debug", "systemd-cgroup", "help", "h"):
            return "runtime"
    if expect_value:
        return "runtime"
    if subcommand in ("create", "run") or (subcommand is None and version):
        return "python"
    return "runtime"


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_restated_launcher_rules_match_the_table(case):
    assert launcher_decision(case["argv"]) == case["launcher"]


@given(st.lists(st.sampled_from(TOKENS), max_size=7))
def test_launcher_rules_never_bypass_python_on_random_argv(argv):
    if python_decision(argv) != "passthrough":
        assert launcher_decision(argv) == "python"
