"""One run over several processes (hosts) with ``jax.distributed``: joining them, and the few collectives
the engine needs.

Every process runs the same program on the same inputs (SPMD): data, noise draws, initialisation and
data order are functions of seeds, so values computed on the host agree everywhere. A bucket's model axis
is sharded over *all* processes' devices (:mod:`lottery.train.sharding`); what the host reads back is
gathered to every process (:func:`host`); only process 0 writes files (:func:`primary`,
:mod:`lottery.store.files`), except Orbax checkpoints, which every process saves together.

With one process (no ``jax.distributed``) every function here is the plain single-process operation.
"""
from __future__ import annotations

import os
import re
import socket
import time

import jax
import numpy as np

from lottery.core.errors import ConfigError

ENV = ("JAX_COORDINATOR_ADDRESS", "JAX_NUM_PROCESSES", "JAX_PROCESS_ID")
MESSAGE_BYTES = 1024  # an error message broadcast from process 0 (cut to this length)


def _how() -> tuple[str, dict] | None:
    """('explicit', kwargs) from the JAX_* variables, ('auto', {}) on SLURM with several tasks or a multi-host
    TPU slice, None otherwise. ConfigError('distributed', …) for incomplete or malformed variables."""
    given = {k: os.environ.get(k, "") for k in ENV}
    if any(given.values()):
        missing = [k for k, v in given.items() if not v]
        if missing:
            raise ConfigError("distributed", f"{', '.join(missing)} not set: a multi-process run needs all of "
                                             f"{', '.join(ENV)} (launch/local.sh --distributed sets them)")
        address, n, i = given["JAX_COORDINATOR_ADDRESS"], given["JAX_NUM_PROCESSES"], given["JAX_PROCESS_ID"]
        if not re.fullmatch(r"\[?[A-Za-z0-9_.:-]+\]?:\d{1,5}", address) or not 0 < int(address.rsplit(":", 1)[1]) < 65536:
            raise ConfigError("distributed", f"JAX_COORDINATOR_ADDRESS must be HOST:PORT, got {address!r}")
        if not n.isdigit() or int(n) < 1:
            raise ConfigError("distributed", f"JAX_NUM_PROCESSES must be a positive integer, got {n!r}")
        if not i.isdigit() or int(i) >= int(n):
            raise ConfigError("distributed", f"JAX_PROCESS_ID must be an integer in [0, {n}), got {i!r}")
        if int(n) == 1:
            return None
        return "explicit", {"coordinator_address": address, "num_processes": int(n), "process_id": int(i)}
    if os.environ.get("LOTTERY_DISTRIBUTED", "") == "0":
        return None
    if os.environ.get("SLURM_JOB_ID") and int(os.environ.get("SLURM_NTASKS", "1") or 1) > 1:
        return "auto", {}
    if len([h for h in os.environ.get("TPU_WORKER_HOSTNAMES", "").split(",") if h]) > 1:
        return "auto", {}
    return None


def initialize() -> None:
    """Joins this process to a multi-process run when its environment describes one (call before any other
    use of JAX; the command line does): explicit JAX_COORDINATOR_ADDRESS / JAX_NUM_PROCESSES / JAX_PROCESS_ID,
    or JAX's own detection on SLURM (SLURM_NTASKS > 1) and multi-host TPU slices (``LOTTERY_DISTRIBUTED=0``:
    not these two); otherwise does nothing.
    ``LOTTERY_INIT_TIMEOUT`` (seconds, default 300) bounds the wait for the other processes.
    Raises ConfigError('distributed', one line) if the variables are wrong or the processes cannot join."""
    how = _how()
    if how is None:
        return
    mode, kwargs = how
    timeout = int(os.environ.get("LOTTERY_INIT_TIMEOUT", "300") or 300)
    if mode == "explicit":  # JAX's client aborts the process when it cannot connect: check first, in one line
        _check_coordinator(kwargs["coordinator_address"], kwargs["process_id"], timeout)
    try:
        jax.distributed.initialize(**kwargs, initialization_timeout=timeout)
    except Exception as e:  # unreachable coordinator, mismatched counts, a process id taken twice, no cluster
        lines = [line.strip() for line in str(e).splitlines() if line.strip()]
        where = kwargs.get("coordinator_address", "auto-detected cluster")
        raise ConfigError("distributed", f"cannot join the run at {where} ({mode}): "
                                         f"{lines[-1] if lines else type(e).__name__}") from None


def _check_coordinator(address: str, process_id: int, timeout: float) -> None:
    """Process 0 must be able to listen on the port; the others must reach it within ``timeout`` seconds."""
    host, port = address.rsplit(":", 1)
    host, port = host.strip("[]"), int(port)
    if process_id == 0:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the coordinator's server does
            try:
                s.bind(("", port))
            except OSError as e:
                raise ConfigError("distributed", f"process 0 cannot serve the coordinator on port {port} "
                                                 f"({e.strerror}); choose another JAX_COORDINATOR_ADDRESS port") from None
        return
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=5):
                return
        except OSError as e:
            if time.monotonic() >= deadline:
                raise ConfigError("distributed", f"no coordinator at {address} after {timeout:g}s ({e.strerror or e}); "
                                                 f"start process 0 there, or check JAX_COORDINATOR_ADDRESS") from None
            time.sleep(0.5)


def _joined() -> bool:
    """Whether ``jax.distributed`` was initialised (asked without starting a backend, so that writing a file
    in a single-process program does not initialise JAX)."""
    try:
        from jax._src import distributed as state

        return state.global_state.client is not None
    except (ImportError, AttributeError):  # JAX moved its state: ask the backend
        return jax.process_count() > 1


def processes() -> int:
    """The number of processes of the run (1 without ``jax.distributed``)."""
    return jax.process_count() if _joined() else 1


def devices() -> dict:
    """What the run trains on (recorded in DIR/config.json): platform, devices in all, on this host, processes."""
    return {"platform": jax.default_backend(), "count": jax.device_count(), "local": jax.local_device_count(),
            "processes": processes()}


def primary() -> bool:
    """Whether this process writes files (process 0; the only process of a single-process run)."""
    return not _joined() or jax.process_index() == 0


def host(a) -> np.ndarray:
    """``a`` as a numpy array; an array spread over several processes is gathered to every one of them
    (a collective: every process must call it for the same array)."""
    if isinstance(a, jax.Array) and not a.is_fully_addressable:
        from jax.experimental import multihost_utils

        return np.asarray(multihost_utils.process_allgather(a, tiled=True))
    return np.asarray(a)


def barrier(name: str) -> None:
    """Waits until every process reached the barrier ``name`` (nothing with one process)."""
    if processes() > 1:
        from jax.experimental import multihost_utils

        multihost_utils.sync_global_devices(name)


def on_primary(fn):
    """Runs ``fn()`` on process 0 only and returns its value there (None elsewhere); a ConfigError it raises
    is raised on every process, so all stop with the same line. With one process: ``fn()``."""
    if processes() == 1:
        return fn()
    from jax.experimental import multihost_utils

    out, error = None, None
    if primary():
        try:
            out = fn()
        except ConfigError as e:
            error = e
    text = f"{error.field}\n{error.message}".encode()[:MESSAGE_BYTES] if error else b""
    buf = np.zeros(MESSAGE_BYTES + 1, np.uint8)
    buf[0] = error is not None
    buf[1:1 + len(text)] = np.frombuffer(text, np.uint8)
    buf = np.asarray(multihost_utils.broadcast_one_to_all(buf))
    if error is not None:
        raise error
    if buf[0]:
        field, _, message = bytes(buf[1:]).rstrip(b"\0").decode(errors="replace").partition("\n")
        raise ConfigError(field, message)
    return out
