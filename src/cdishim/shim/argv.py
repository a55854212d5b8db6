"""Parse a runc command line just enough to act on it, without changing it.

runc (urfave/cli v1) accepts ``-flag`` and ``--flag``, values as ``--flag v``
or ``--flag=v``, and stops reading flags at the first positional argument.
Only the real subcommand token counts: a container named ``create`` is not a
create. Anything this parser does not understand is left for runc to judge.

The launcher ``bin/cdishim`` applies the same rules in POSIX sh to decide
whether to start Python at all; ``tests/runc_argv_cases.json`` is the table
both are tested against.
"""

from __future__ import annotations

import os

# runc's global flags; True = takes a value.
GLOBAL_FLAGS: dict[str, bool] = {
    "debug": False,
    "log": True,
    "log-format": True,
    "root": True,
    "criu": True,
    "systemd-cgroup": False,
    "rootless": True,
    "help": False,
    "h": False,
    "version": False,
    "v": False,
}

# Flags of `create` and `run` (runc 1.1 - 1.3); True = takes a value.
CREATE_FLAGS: dict[str, bool] = {
    "bundle": True,
    "b": True,
    "console-socket": True,
    "pidfd-socket": True,
    "pid-file": True,
    "no-pivot": False,
    "no-new-keyring": False,
    "preserve-fds": True,
    "detach": False,
    "d": False,
    "keep": False,
    "no-subreaper": False,
}

INJECTING_SUBCOMMANDS = ("create", "run")
# Short names of one flag: Go's flag package keeps the value given last, under either name.
ALIASES = {"b": "bundle", "d": "detach", "h": "help", "v": "version"}


class RuncCommand:
    """What cdishim needs to know about one runc invocation."""

    def __init__(self) -> None:
        self.global_options: dict[str, str] = {}
        self.subcommand: str | None = None
        self.options: dict[str, str] = {}
        self.container_id: str | None = None
        self.understood = True

    @property
    def injects(self) -> bool:
        """Whether this command creates a container (and so needs CDI edits)."""
        return self.subcommand in INJECTING_SUBCOMMANDS

    @property
    def wants_version(self) -> bool:
        """``cdishim --version`` / ``-v`` with no subcommand."""
        options = self.global_options
        return self.understood and self.subcommand is None and "version" in options

    def bundle(self, cwd: str | None = None) -> str:
        """Absolute bundle directory: the last ``--bundle``/``-b``, else (or when empty) the current dir."""
        bundle = self.options.get("bundle") or ""
        return os.path.abspath(os.path.join(cwd or os.getcwd(), bundle))


def _read_flags(args: list[str], start: int, known: dict[str, bool], into: dict[str, str]) -> int | None:
    """Read flags from *args[start:]* into *into*; return the first non-flag index.

    Returns None when an unknown flag makes the rest unparseable.
    """
    index = start
    while index < len(args):
        arg = args[index]
        if arg == "--":
            return index + 1
        if not arg.startswith("-") or arg == "-":
            return index
        # Go's flag package: one or two dashes, then the name.
        name, has_value, value = (arg[2:] if arg.startswith("--") else arg[1:]).partition("=")
        if name not in known:
            return None
        if known[name] and not has_value:
            if index + 1 >= len(args):
                return None
            value = args[index + 1]
            index += 1
        into[ALIASES.get(name, name)] = value
        index += 1
    return index


def parse_runc_argv(args: list[str]) -> RuncCommand:
    """Parse runc's arguments (without argv[0])."""
    command = RuncCommand()
    position = _read_flags(args, 0, GLOBAL_FLAGS, command.global_options)
    if position is None:
        command.understood = False
        return command
    if position >= len(args):
        return command
    command.subcommand = args[position]
    if command.subcommand in INJECTING_SUBCOMMANDS:
        rest = _read_flags(args, position + 1, CREATE_FLAGS, command.options)
        if rest is None:
            command.subcommand = None  # unparseable: let runc explain
            command.understood = False
        elif rest < len(args):
            command.container_id = args[rest]
    return command
