"""Benchmarks of cdishim against bare runc, measured side by side."""
