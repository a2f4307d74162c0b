"""Subprocess target of test_save_crashes.py: a fork server whose children save and get killed.

Run as ``python save_kill_script.py``. It imports thawnet once (seconds), prints ``ready``,
then answers one JSON request per line of stdin with one JSON line. Each request forks a
child (cheap: the import is shared; JAX's backend starts fresh in the child), which builds
the model, saves weight set A to the target, then:

* ``mode="op"``: saves weight set B with the file-system calls of the save counted, and
  SIGKILLs itself just before call number ``kill_at`` (``kill_at=None``: no kill; the child
  writes the list of calls to ``result``);
* ``mode="delay"``: saves B, A, B, ... in a loop until the server SIGKILLs it ``delay``
  seconds after the first save. A shared page tells the server how many saves completed
  and whether the kill landed inside one.

``fallback=True`` makes the child's folder saves use the two-rename fallback, as on a system
without ``renameat2(RENAME_EXCHANGE)``.

The test imports this file for the model and weight sets, so that parent and child agree.
"""

import json
import mmap
import os
import select
import signal
import struct
import sys
import time
import traceback

import jax
import numpy as np

from thawnet import layers as L
from thawnet.io import path_exchange
from thawnet.models import Sequential, load_model

FORMATS = {"folder": "model", "zip": "m.thawnet", "safetensors": "w.safetensors"}
UNITS = (256, 384, 256)  # ~1.4 MB of weights: a save takes tens of milliseconds


def build_model(units=UNITS):
    """The model every trial saves (built, weights materialised)."""
    model = Sequential([L.Input(shape=(units[0],))]
                       + [L.Dense(u, name=f"d{i}") for i, u in enumerate(units[1:])],
                       name="victim")
    return model


def weight_set(model, tag):
    """Deterministic, distinct weights per ``tag`` ("A", "B", "C"): ``{path: array}``."""
    rng = np.random.default_rng(sum(map(ord, tag)) * 7919)
    return {p: rng.standard_normal(v.shape).astype(v.dtype.name)
            for p, v in model.variables_by_path().items()}


def assign(model, values):
    for p, v in model.variables_by_path().items():
        v.assign(values[p])


def on_device(values):
    """``values`` as JAX arrays, put without compiling anything (jnp.asarray of a NumPy
    array compiles a conversion per shape: a second per fresh child)."""
    return {p: jax.device_put(a) for p, a in values.items()}


def save(model, target, fmt):
    if fmt == "safetensors":
        model.save_weights(target)
    else:
        model.save(target)


def load_values(target, fmt, units=UNITS):
    """The weights the file at ``target`` holds, read through thawnet's public loaders
    (``units``: the architecture, needed for ``.safetensors``)."""
    if fmt == "safetensors":
        model = build_model(units)
        model.load_weights(target)
    else:
        model = load_model(target)
    return {p: np.asarray(v.value) for p, v in model.variables_by_path().items()}


# -- the child ---------------------------------------------------------------------------------
_COUNTED_OS = ("open", "fsync", "replace", "rename", "mkdir", "unlink", "rmdir", "chmod")


def _arm(kill_at, calls):
    """Count file-system calls (and buffered writes); SIGKILL before call ``kill_at``."""
    def counted(name, fn):
        def call(*args, **kwargs):
            if kill_at is not None and len(calls) == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
            if name == "write":
                what = f"{len(args[0])} bytes"
            else:
                what = os.path.basename(str(args[0])) if args and name != "fsync" else ""
            calls.append(f"{name} {what}".strip())
            return fn(*args, **kwargs)
        return call

    class CountedFile:
        def __init__(self, f):
            self._f = f
            self.write = counted("write", f.write)

        def __getattr__(self, name):
            return getattr(self._f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return self._f.__exit__(*exc)

    for name in _COUNTED_OS:
        setattr(os, name, counted(name, getattr(os, name)))
    real_fdopen = os.fdopen
    os.fdopen = lambda *a, **k: CountedFile(real_fdopen(*a, **k))
    path_exchange.exchange = counted("exchange", path_exchange.exchange)


def _use_fallback():
    def unavailable(a, b):
        raise path_exchange.ExchangeUnavailable()
    path_exchange.exchange = unavailable


def _child(req, shared, ready_w):
    fmt, target = req["fmt"], os.path.join(req["dir"], FORMATS[req["fmt"]])
    if req.get("fallback"):
        _use_fallback()
    model = build_model()
    sets = {t: on_device(weight_set(model, t)) for t in "AB"}
    if fmt == "folder" and not os.path.isdir(target):
        os.mkdir(target)
    assign(model, sets["A"])
    save(model, target, fmt)
    if req["mode"] == "op":
        calls = []
        assign(model, sets["B"])
        _arm(req.get("kill_at"), calls)
        save(model, target, fmt)
        with open(req["result"], "w") as f:  # reached only when not killed
            json.dump(calls, f)
        return
    os.write(ready_w, b"r")
    for i in range(1, 10**9):
        assign(model, sets["AB"[i % 2]])
        shared[0] = 1  # inside a save from here...
        save(model, target, fmt)
        struct.pack_into("<Q", shared, 8, i)
        shared[0] = 0  # ...to here


def _trial(req):
    shared = mmap.mmap(-1, 16)  # MAP_SHARED | MAP_ANONYMOUS: visible to parent and child
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            _child(req, shared, ready_w)
        except BaseException:
            traceback.print_exc()
            code = 3
        os._exit(code)
    os.close(ready_w)
    answer = {}
    if req["mode"] == "delay":
        ok, _, _ = select.select([ready_r], [], [], 60)
        if ok and os.read(ready_r, 1) == b"r":
            time.sleep(req["delay"])
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            answer["timeout"] = True
            _, status = os.waitpid(pid, 0)
            break
        time.sleep(0.002)
    os.close(ready_r)
    answer.update(signal=os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
                  exit=os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
                  inside=bool(shared[0]), completed=struct.unpack_from("<Q", shared, 8)[0])
    shared.close()
    return answer


def main():
    print("ready", flush=True)
    for line in sys.stdin:
        print(json.dumps(_trial(json.loads(line))), flush=True)


if __name__ == "__main__":
    main()
