"""A/B timing: alternate runs, discard warm-up, summarise with medians."""

from __future__ import annotations

import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

Step = Callable[[], float]


def run_timed(argv: Sequence[str], env: dict[str, str]) -> float:
    """Seconds one command takes; it must succeed.

    stderr goes to a file, not a pipe: `runc create` hands its stdio to the
    container process, so a pipe would not reach EOF until the container exits.
    """
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        result = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors)
        elapsed = time.perf_counter() - start
        if result.returncode != 0:
            errors.seek(0)
            raise RuntimeError(f"{' '.join(argv)} failed: {errors.read().decode().strip()}")
    return elapsed


@dataclass
class Comparison:
    """Samples of A (cdishim) and B (bare runc), in milliseconds."""

    name: str
    a_label: str
    b_label: str
    a: list[float] = field(default_factory=list)
    b: list[float] = field(default_factory=list)
    budget_ms_added: float | None = None
    budget_ratio: float | None = None

    @property
    def added_ms(self) -> float:
        return statistics.median(self.a) - statistics.median(self.b)

    @property
    def ratio(self) -> float:
        return statistics.median(self.a) / statistics.median(self.b)

    def verdict(self) -> str:
        if self.budget_ms_added is not None:
            ok = self.added_ms <= self.budget_ms_added
            return f"{'within' if ok else 'MISSED'} {self.budget_ms_added:g} ms"
        if self.budget_ratio is not None:
            ok = self.ratio <= self.budget_ratio
            return f"{'within' if ok else 'MISSED'} {self.budget_ratio:g}x"
        return "informational"

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "a": {"label": self.a_label, "samples_ms": self.a},
            "b": {"label": self.b_label, "samples_ms": self.b},
            "median_added_ms": self.added_ms,
            "ratio": self.ratio,
            "verdict": self.verdict(),
        }


def compare(
    comparison: Comparison, step_a: Step, step_b: Step, runs: int, warmup: int = 3
) -> Comparison:
    """Alternate A and B (ABBA order), keep *runs* samples of each after *warmup*."""
    for index in range(warmup + runs):
        order = (step_a, step_b) if index % 2 == 0 else (step_b, step_a)
        samples = {}
        for step in order:
            samples[step] = step() * 1000
        if index >= warmup:
            comparison.a.append(samples[step_a])
            comparison.b.append(samples[step_b])
    return comparison


def spread(samples: list[float]) -> str:
    """``median (min-max)`` in ms."""
    return f"{statistics.median(samples):7.1f} ({min(samples):.1f}-{max(samples):.1f})"


def table(comparisons: list[Comparison]) -> str:
    """The results as a Markdown table."""
    lines = [
        "| benchmark | cdishim ms, median (min-max) | bare runc ms, median (min-max) | added ms | ratio | budget |",
        "|---|---|---|---|---|---|",
    ]
    for c in comparisons:
        lines.append(
            f"| {c.name} | {spread(c.a)} | {spread(c.b)} | {c.added_ms:+.1f} | {c.ratio:.2f}x | {c.verdict()} |"
        )
    return "\n".join(lines)
