"""Crash safety and concurrency of the create path, with real runc.

- SIGKILL at random points of a create, hundreds of times: config.json is
  always the original or the fully edited file, never half written; a re-run
  succeeds without injecting twice; temp files of killed writers do not
  outlive the next run.
- 50 creates in parallel on a cold registry cache: every container sees
  exactly its devices.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

from tests.integration.conftest import gpu_request
from tests.integration.daemons import unmount_under

KILLS = 200


def temp_files(bundle) -> list[str]:
    return sorted(name for name in os.listdir(bundle) if name.endswith(".tmp"))


def create(runtime, bundle, container: str, log) -> int:
    """`cdishim create`; its output goes to a file, as the container keeps runc's stdio open."""
    with open(log, "w") as out:
        return runtime.cdishim_cmd("create", "--bundle", str(bundle), container, capture_output=False,
                                   stdout=out, stderr=out).returncode


def test_sigkill_at_random_points_never_corrupts_config_json(runtime, make_bundle, tmp_path):
    bundle = make_bundle(gpu_request(1, 2), "true")
    original = (bundle / "config.json").read_bytes()
    reference = tmp_path / "reference"
    shutil.copytree(bundle, reference, symlinks=True)
    log = tmp_path / "create.log"
    started = time.monotonic()
    assert create(runtime, reference, "reference", log) == 0, log.read_text()
    create_s = time.monotonic() - started  # kills land anywhere in a create on this machine, fast or slow
    runtime.runc_cmd("delete", "--force", "reference")
    edited = (reference / "config.json").read_bytes()
    assert edited != original

    rng = random.Random(20261123)
    outcomes = {"original": 0, "edited": 0}
    try:
        kill_repeatedly(runtime, bundle, original, edited, rng, outcomes, log, create_s)
    finally:
        unmount_under(runtime.root)  # runc killed mid-create leaves its binary clone (runc.XXXXXX) mounted
    assert outcomes["original"] > 0 and outcomes["edited"] > 0, outcomes  # the kills landed on both sides


def kill_repeatedly(runtime, bundle, original: bytes, edited: bytes, rng, outcomes: dict, log,
                    create_s: float) -> None:
    for attempt in range(KILLS):
        container = f"kill-{attempt}"
        process = subprocess.Popen([runtime.cdishim, "--root", str(runtime.root), "create", "--bundle", str(bundle),
                                    container], env=runtime.env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(rng.uniform(0, create_s))
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()
        runtime.runc_cmd("delete", "--force", container)
        content = (bundle / "config.json").read_bytes()
        json.loads(content)
        assert content in (original, edited), f"attempt {attempt}: config.json is neither original nor edited"
        outcomes["original" if content == original else "edited"] += 1
        if temp_files(bundle) or attempt % 4 == 0:
            # runc killed mid-create can leave a state dir behind: the retry takes a new id, as engines do
            assert create(runtime, bundle, f"{container}-retry", log) == 0, log.read_text()
            runtime.runc_cmd("delete", "--force", f"{container}-retry")
            assert (bundle / "config.json").read_bytes() == edited  # injected exactly once
            assert temp_files(bundle) == []
        (bundle / "config.json").write_bytes(original)


def test_fifty_parallel_creates_on_a_cold_cache(runtime, make_bundle, tmp_path):
    runtime.env["CDISHIM_CACHE_DIR"] = str(tmp_path / "cold-cache")  # absent: every process starts cold
    script = "ls /dev/mock /mock/lib | tr '\\n' ' '"
    jobs = [(n, make_bundle(gpu_request(n % 8), script, name=f"par-{n}")) for n in range(50)]

    def run(job):
        number, bundle = job
        return number, runtime.cdishim_cmd("run", "--bundle", str(bundle), f"par-{number}-{os.getpid()}", timeout=120)

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(run, jobs))
    for number, result in results:
        assert result.returncode == 0, f"container {number}: {result.stderr}"
        device = f"device_{number % 8}"
        assert result.stdout.split() == ["/dev/mock:", device, "/mock/lib:", f"{device}.so"], result.stdout
