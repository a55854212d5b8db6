"""Where this installation's ``cdishim`` program is."""

from __future__ import annotations

import os
import shutil
import sys

from cdishim.errors import RuntimeLookupError


def cdishim_program() -> str:
    """The ``cdishim`` installed next to this ``cdishim-ctl``, else the one in PATH."""
    sibling = os.path.join(os.path.dirname(os.path.abspath(sys.argv[0])), "cdishim")
    if os.access(sibling, os.X_OK):
        return sibling
    found = shutil.which("cdishim")
    if found is None:
        raise RuntimeLookupError("cannot find the cdishim program next to cdishim-ctl or in PATH")
    return os.path.abspath(found)
