"""The hook plan: CDI hooks wrapped, netdev hooks added only when the runtime needs them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cdishim.cdi.model import ContainerEdits, Hook, NetDevice
from cdishim.errors import ApplyError
from cdishim.hooks.wrapper import HookCall, parse_args
from cdishim.injection.hookplan import WRAPPER_ENV, default_hook_program, plan_hooks, wrap_stage
from cdishim.oci.runtime import RuntimeFacts
from cdishim.settings import Settings

PROGRAM = "/bin/true"  # any executable stands in for cdishim-hook here
VENDOR = Hook(hook_name="createContainer", path="/usr/bin/vendor-hook", args=("vendor-hook", "--flag"),
              env=("A=1", "LD_PRELOAD=/x.so"), timeout=5)
NET = NetDevice(host_interface_name="eth1", name="net0")
WRAPPING = Settings(hook_program=PROGRAM)


class Facts(RuntimeFacts):
    """Runtime facts with a given answer to "does the runtime move netDevices itself?"."""

    def __init__(self, applies: bool | None = True, program: str = "/usr/bin/cdishim") -> None:
        super().__init__(("runc",), program, runtime="/usr/sbin/runc")
        self.applies = applies

    def applies_net_devices(self) -> bool:
        if self.applies is None:
            raise AssertionError("runc features should not run")
        return self.applies


def test_vendor_hook_is_wrapped_with_env_as_arguments():
    edits = plan_hooks(ContainerEdits(hooks=(VENDOR,)), WRAPPING, Facts())
    assert edits.hooks == (Hook(
        hook_name="createContainer", path=PROGRAM, env=WRAPPER_ENV, timeout=7,
        args=(PROGRAM, "exec", "--timeout", "5", "--env", "A=1", "--env", "LD_PRELOAD=/x.so", "--",
              "/usr/bin/vendor-hook", "vendor-hook", "--flag")),)


def test_no_wrapping_when_disabled():
    edits = ContainerEdits(hooks=(VENDOR,))
    assert plan_hooks(edits, Settings(hook_program="/nonexistent", wrap_hooks=False), Facts()) is edits


@pytest.mark.parametrize("applies, expected", [(True, ()), (False, (
    Hook(hook_name="createRuntime", path=PROGRAM, env=WRAPPER_ENV,
         args=(PROGRAM, "netdev", "--host-if", "eth1", "--name", "net0")),))])
def test_netdev_hook_only_for_runtimes_that_need_it(applies, expected):
    edits = plan_hooks(ContainerEdits(net_devices=(NET,)), WRAPPING, Facts(applies))
    assert edits.hooks == expected
    assert edits.net_devices == (NET,)


def test_runtime_features_are_not_asked_without_net_devices():
    plan_hooks(ContainerEdits(hooks=(VENDOR,)), WRAPPING, Facts(applies=None))


def test_nothing_is_looked_up_without_hooks_or_net_devices():
    class Unused(RuntimeFacts):
        @property
        def cdishim_program(self) -> str:
            raise AssertionError("no lookup for edits without hooks")

    edits = ContainerEdits(env=("A=1",))
    assert plan_hooks(edits, Settings(), Unused(("runc",), "/x")) is edits


def test_missing_hook_program_is_an_error():
    with pytest.raises(ApplyError, match='hook program "/nonexistent/cdishim-hook" is not executable'):
        plan_hooks(ContainerEdits(hooks=(VENDOR,)), Settings(hook_program="/nonexistent/cdishim-hook"), Facts())


@pytest.mark.parametrize("launcher", ["sh", "compiled", "absent"])
def test_default_hook_program_is_next_to_cdishim(tmp_path, launcher):
    """The entries run cdishim-hook, or the compiled launcher by cdishim-hook's name (its args[0])."""
    assert default_hook_program("/usr/bin/cdishim") == "/usr/bin/cdishim-hook"
    program = tmp_path / "cdishim-hook"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    if launcher != "absent":
        (tmp_path / "cdishim").write_bytes(b"\x7fELF\x02\x01" if launcher == "compiled" else b"#!/bin/sh\n")
    facts = Facts(applies=False, program=str(tmp_path / "cdishim"))
    edits = plan_hooks(ContainerEdits(hooks=(VENDOR,), net_devices=(NET,)), Settings(), facts)
    expected_path = str(tmp_path / ("cdishim" if launcher == "compiled" else "cdishim-hook"))
    assert [hook.path for hook in edits.hooks] == [expected_path, expected_path]
    assert [hook.args[:2] for hook in edits.hooks] == [(str(program), "exec"), (str(program), "netdev")]


# Hook fields as a spec may give them: any text, including what looks like the wrapper's own options.
texts = st.one_of(st.sampled_from(["--", "--env", "--timeout", "-h", "--env=A=1", "=", ""]), st.text(max_size=12))
env_entries = st.builds(lambda key, value: f"{key}={value}",
                        st.one_of(st.sampled_from(["--", "--timeout", "A"]), st.text(min_size=1, max_size=8).filter(
                            lambda key: "=" not in key)), texts)


hooks = st.builds(
    lambda path, args, env, timeout: Hook(hook_name="createContainer", path=path, args=tuple(args), env=tuple(env),
                                          timeout=timeout),
    st.sampled_from(["/usr/bin/hook", "/--", "/opt/a b/hook"]), st.lists(texts, max_size=5),
    st.lists(env_entries, max_size=4), st.one_of(st.none(), st.integers(1, 2**31 - 1)))


@given(stage=st.lists(hooks, min_size=1, max_size=4))
def test_the_wrapped_argv_round_trips_through_the_wrapper_parser(stage):
    wrapped = wrap_stage(stage, PROGRAM, PROGRAM)
    assert wrapped.args[:2] == (PROGRAM, "exec")
    assert parse_args(list(wrapped.args[2:])) == [
        HookCall(path=hook.path, argv=hook.args, env=hook.env, timeout=hook.timeout) for hook in stage]


def test_the_hooks_of_a_stage_share_one_wrapper_and_engine_order_is_kept():
    first = Hook(hook_name="createContainer", path="/usr/bin/a", args=("a",), timeout=3)
    other = Hook(hook_name="poststart", path="/usr/bin/p")
    second = Hook(hook_name="createContainer", path="/usr/bin/b", args=("b", "-v"), env=("X=1",), timeout=4)
    edits = plan_hooks(ContainerEdits(hooks=(first, other, second)), WRAPPING, Facts())
    assert [hook.hook_name for hook in edits.hooks] == ["createContainer", "poststart"]
    create = edits.hooks[0]
    assert create.timeout == 3 + 4 + 2
    assert create.args == (PROGRAM, "exec", "--timeout", "3", "--argc", "1", "--", "/usr/bin/a", "a",
                           "--timeout", "4", "--env", "X=1", "--argc", "2", "--", "/usr/bin/b", "b", "-v")
    assert edits.hooks[1].timeout is None  # a hook without a timeout: none for its wrapper either


def test_cdishim_hooks_own_programs_are_marked_to_run_inside_the_wrapper(tmp_path):
    program = tmp_path / "cdishim-hook"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    link = tmp_path / "link-to-hook"
    link.symlink_to(program)
    own = Hook(hook_name="createContainer", path=str(link), args=("cdishim-hook", "chmod", "--mode", "0755", "--path", "/x"))
    netdev = Hook(hook_name="createContainer", path=str(program), args=("cdishim-hook", "netdev", "--from-config"))
    vendor = Hook(hook_name="createContainer", path="/usr/bin/vendor", args=("vendor", "chmod"))
    wrapped = plan_hooks(ContainerEdits(hooks=(own, netdev, vendor)), Settings(hook_program=str(program)), Facts())
    calls = parse_args(list(wrapped.hooks[0].args[2:]))
    assert [call.builtin for call in calls] == [True, False, False]  # netdev enters a netns: never in-process
