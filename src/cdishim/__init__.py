"""cdishim: make any container engine CDI-capable.

This package must stay import-free: every program imports it first, and the
runtime's passthrough path must not pay for anything it does not use.
"""

__version__ = "0.1.0"
