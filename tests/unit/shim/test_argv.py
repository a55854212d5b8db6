"""runc command-line parsing: subcommand, bundle, global flags."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cdishim.shim.argv import parse_runc_argv

# (argv, subcommand, bundle option, container id, global options)
CASES = [
    (["create", "--bundle", "/b", "id"], "create", "/b", "id", {}),
    (["create", "--bundle=/b", "id"], "create", "/b", "id", {}),
    (["create", "-b", "/b", "id"], "create", "/b", "id", {}),
    (["create", "-b=/b", "id"], "create", "/b", "id", {}),
    (["run", "-d", "--bundle", "/b", "--pid-file", "/p", "id"], "run", "/b", "id", {}),
    (["create", "id"], "create", None, "id", {}),
    # docker / containerd style global flags, both spellings
    (
        ["--root", "/run/docker/runtime-runc/moby", "--log", "/l.json", "--log-format", "json", "--systemd-cgroup",
         "create", "--bundle", "/b", "--pid-file", "/p", "--console-socket", "/s", "id"],
        "create", "/b", "id",
        {"root": "/run/docker/runtime-runc/moby", "log": "/l.json", "log-format": "json", "systemd-cgroup": ""},
    ),
    (["-root=/r", "-debug", "create", "-bundle", "/b", "id"], "create", "/b", "id", {"root": "/r", "debug": ""}),
    (["--rootless", "auto", "create", "id"], "create", None, "id", {"rootless": "auto"}),
    # only the real subcommand token counts
    (["state", "create"], "state", None, None, {}),
    (["delete", "--force", "run"], "delete", None, None, {}),
    (["--root", "create", "state", "x"], "state", None, None, {"root": "create"}),
    # flags stop at the first positional, as in Go's flag package
    (["create", "id", "--bundle", "/b"], "create", None, "id", {}),
    (["create", "--", "--bundle"], "create", None, "--bundle", {}),
    # cases runc itself must judge: no subcommand is recognised
    (["--unknown-flag", "create", "id"], None, None, None, {}),
    (["create", "--bogus", "id"], None, None, None, {}),
    (["--root"], None, None, None, {}),
    (["create", "--bundle"], None, None, None, {}),
    ([], None, None, None, {}),
]


@pytest.mark.parametrize("argv, subcommand, bundle, container_id, global_options", CASES)
def test_parse(argv, subcommand, bundle, container_id, global_options):
    command = parse_runc_argv(argv)
    assert command.subcommand == subcommand
    assert command.options.get("bundle") == bundle
    assert command.container_id == container_id
    assert command.global_options == global_options


def test_bundle_defaults_to_cwd_and_is_made_absolute():
    assert parse_runc_argv(["create", "id"]).bundle("/srv/x") == "/srv/x"
    assert parse_runc_argv(["create", "-b", "rel", "id"]).bundle("/srv") == "/srv/rel"
    assert parse_runc_argv(["create", "-b", "/abs", "id"]).bundle("/srv") == "/abs"


@pytest.mark.parametrize(
    "argv, injects, wants_version",
    [
        (["create", "id"], True, False),
        (["run", "id"], True, False),
        (["start", "id"], False, False),
        (["--version"], False, True),
        (["-v"], False, True),
        (["--help"], False, False),
        (["--version", "state", "x"], False, False),
    ],
)
def test_command_kinds(argv, injects, wants_version):
    command = parse_runc_argv(argv)
    assert command.injects is injects
    assert command.wants_version is wants_version


@given(st.lists(st.sampled_from(["create", "run", "state", "--root", "/r", "-b", "/b", "--bundle", "id", "--", "-d", "--log", "x"]), max_size=8))
def test_parsing_never_fails_and_never_invents_a_subcommand(argv):
    command = parse_runc_argv(argv)
    if command.subcommand is not None:
        assert command.subcommand in argv
