"""Several processes, one training run: ``initialize`` wraps ``jax.distributed.initialize``.

On one machine, ``thawnet launch --nproc 2 script.py`` starts the processes with the
environment below. On a cluster, start one process per host with:

    THAWNET_COORDINATOR=host0:12355   address of process 0 (reachable by all)
    THAWNET_NUM_PROCESSES=N           number of processes
    THAWNET_PROCESS_ID=i              0 .. N-1

(under SLURM, ``initialize()`` also reads SLURM_PROCID / SLURM_NTASKS and takes the
coordinator from THAWNET_COORDINATOR; on Kubernetes set the three variables from the pod's
index, e.g. a StatefulSet ordinal or a JobSet/Indexed Job's completion index.)
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from typing import Any


def initialize(coordinator_address: Any = None, num_processes: Any = None, process_id: Any = None,
               local_device_count: Any = None, timeout_s: int = 60) -> None:
    """Join a multi-process run; arguments default to the THAWNET_* (or SLURM) variables.

    CPU collectives use gloo. ``local_device_count`` forces that many CPU devices in this
    process (tests and single-machine runs). A coordinator that cannot be reached raises a
    RuntimeError after ``timeout_s`` seconds instead of hanging.
    """
    env = os.environ
    coordinator_address = coordinator_address or env.get("THAWNET_COORDINATOR")
    if num_processes is None:
        num_processes = int(env.get("THAWNET_NUM_PROCESSES", env.get("SLURM_NTASKS", "1")))
    if process_id is None:
        process_id = int(env.get("THAWNET_PROCESS_ID", env.get("SLURM_PROCID", "0")))
    if local_device_count is None and env.get("THAWNET_LOCAL_DEVICES"):
        local_device_count = int(env["THAWNET_LOCAL_DEVICES"])
    if coordinator_address is None:
        raise ValueError("initialize: no coordinator address. Pass coordinator_address="
                         "'host:port' or set THAWNET_COORDINATOR (thawnet launch does).")
    if not 0 <= process_id < num_processes:
        raise ValueError(f"initialize: process_id must be in [0, {num_processes}); received "
                         f"process_id={process_id}.")
    if process_id != 0:
        # XLA aborts the whole process when the coordinator never answers; find out first,
        # in Python, so the caller gets an exception that says what to check.
        _wait_for_coordinator(coordinator_address, timeout_s, process_id, num_processes)
    import jax
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    if local_device_count is not None:
        jax.config.update("jax_num_cpu_devices", int(local_device_count))
    try:
        jax.distributed.initialize(coordinator_address=coordinator_address,
                                   num_processes=num_processes, process_id=process_id,
                                   initialization_timeout=int(timeout_s))
    except Exception as err:  # noqa: BLE001 - re-raised with what to check
        raise RuntimeError(
            f"initialize: process {process_id} of {num_processes} could not join the run at "
            f"{coordinator_address} within {timeout_s} s ({type(err).__name__}: {err}). Check "
            "that process 0 is running and that the address and port are reachable.") from err


def _wait_for_coordinator(address, timeout_s, process_id, num_processes):
    host, _, port = address.rpartition(":")
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host or "127.0.0.1", int(port)), timeout=1.0):
                return
        except OSError as err:
            last = err
            time.sleep(0.2)
    raise RuntimeError(
        f"initialize: process {process_id} of {num_processes} could not join the run at "
        f"{address} within {timeout_s} s ({last}). Check that process 0 is running and that "
        "the address and port are reachable.")


def launch(script: Any, nproc: int = 2, args: tuple = (), port: int = 12355,
           local_device_count: Any = None, timeout_s: int = 600) -> Any:
    """Run ``script`` as ``nproc`` local processes of one run; returns their exit codes."""
    procs = []
    for rank in range(nproc):
        env = dict(os.environ, THAWNET_COORDINATOR=f"127.0.0.1:{port}",
                   THAWNET_NUM_PROCESSES=str(nproc), THAWNET_PROCESS_ID=str(rank))
        if local_device_count is not None:
            env["THAWNET_LOCAL_DEVICES"] = str(local_device_count)
        procs.append(subprocess.Popen([sys.executable, script, *args], env=env))
    codes = []
    for p in procs:
        try:
            codes.append(p.wait(timeout=timeout_s))
        except subprocess.TimeoutExpired:
            p.kill()
            codes.append(-9)
    return codes
