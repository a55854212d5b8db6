"""What every engine module provides to `configure` and `doctor`."""

from __future__ import annotations

from cdishim.record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

#: The annotations cdishim reads; engines that filter annotations must let these through.
CDI_ANNOTATIONS = "cdi.k8s.io/*"


class Registration(Record):
    """The runtime entry to write into an engine's configuration."""

    runtime_name: str = "cdishim"
    runtime_path: str = "/usr/bin/cdishim"
    set_default: bool = False


class Engine(Record):
    """One container engine: where its config lives and how to register cdishim in it.

    `register` returns the new text of the config file (the same text when
    cdishim is already registered as asked); `unregister` returns it without
    the runtime entry (and without a default that named it); and
    `registered_runtimes` returns runtime name -> program path for every
    runtime the file declares.
    """

    name: str
    default_config: str
    programs: tuple[str, ...]  # any of these in PATH means the engine is installed
    restart_hint: str
    register: Callable[[str, str, Registration], str]  # (text, path, registration) -> text
    unregister: Callable[[str, str, str], str]  # (text, path, runtime name) -> text
    registered_runtimes: Callable[[str, str], dict[str, str]]  # (text, path) -> {name: program}
