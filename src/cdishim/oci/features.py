"""What a low-level runtime implements, from its ``features`` subcommand.

``runc features`` (runc >= 1.1, crun >= 1.3) prints the runtime-spec
"Features structure". A runtime that applies ``linux.netDevices`` itself
(runc >= 1.4, crun >= 1.22) reports ``linux.netDevices.enabled = true``;
older ones ignore the field, so cdishim must move the interfaces itself.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

FEATURES_TIMEOUT_S = 10


def runtime_features(runtime: str) -> dict[str, Any] | None:
    """The runtime's features structure, or ``None`` when it cannot tell."""
    try:
        result = subprocess.run([runtime, "features"], capture_output=True, timeout=FEATURES_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return None
    try:
        features = json.loads(result.stdout)
    except ValueError:
        return None
    return features if isinstance(features, dict) else None


def applies_net_devices(features: dict[str, Any] | None) -> bool:
    """True when the runtime moves ``linux.netDevices`` into the container itself."""
    linux = (features or {}).get("linux") or {}
    net_devices = linux.get("netDevices") or {}
    return isinstance(net_devices, dict) and net_devices.get("enabled") is True


def runtime_version(runtime: str) -> str:
    """The first line of ``RUNTIME --version`` (e.g. ``runc version 1.1.5``), or ``""``."""
    try:
        result = subprocess.run([runtime, "--version"], capture_output=True, text=True,
                                timeout=FEATURES_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return result.stdout.splitlines()[0].strip() if result.returncode == 0 and result.stdout else ""
