"""The OCI hooks.d files that podman and CRI-O read, for a cdishim-hook at a given path.

They run cdishim's ldcache and netdev hooks for every container that asks
for CDI devices by annotation, on engines that run hooks.d (the files in
``hooks/oci/hooks.d/`` of the source tree are these, for ``/usr/bin``).
"""

from __future__ import annotations

import json

HOOKS_DIR = "/usr/share/containers/oci/hooks.d"  # where both podman and CRI-O look by default
_WHEN = {"annotations": {r"^cdi\.k8s\.io/.+$": ".+"}}
_HOOKS = {
    "cdishim-ldcache.json": (["update-ldcache", "--from-config"], "createContainer"),
    "cdishim-netdev.json": (["netdev", "--from-config"], "prestart"),
}


def hook_files(hook_program: str) -> dict[str, bytes]:
    """File name -> content of each hooks.d file, running *hook_program*."""
    files = {}
    for name, (args, stage) in _HOOKS.items():
        document = {"version": "1.0.0", "hook": {"path": hook_program, "args": ["cdishim-hook", *args]},
                    "when": _WHEN, "stages": [stage]}
        files[name] = (json.dumps(document, indent=2) + "\n").encode()
    return files
