"""Defaults and limits that more than one part of cdishim needs, each defined once.

Import-free, so that any module, the launcher's passthrough path included,
can use them at no cost.
"""

SETTINGS_FILE = "/etc/cdishim/config.toml"
SPEC_DIRS = ("/etc/cdi", "/var/run/cdi")  # lowest priority first, as the reference
CACHE_DIR = "/run/cdishim"
INJECTOR_SOCKET = "/run/cdishim/injector.sock"
ANNOTATION_PREFIX = "cdi.k8s.io/"
TRUST_POLICY = "root-owned"
MAX_SPEC_BYTES = 4 * 1024 * 1024
# How deep a spec file may nest (a CDI spec nests about seven levels): the same
# bound for JSON and YAML, on every interpreter, whatever its recursion limits.
MAX_SPEC_DEPTH = 100
# The OCI state a hook reads on stdin is small; more is refused unread.
MAX_STATE_BYTES = 1 << 20
# The only PATH that hook programs and the programs they start get.
SAFE_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
