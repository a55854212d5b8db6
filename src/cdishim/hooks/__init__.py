"""``cdishim-hook``: small hook programs, hardened against hostile container images."""
