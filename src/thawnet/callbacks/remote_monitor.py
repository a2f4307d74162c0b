"""RemoteMonitor: post each epoch's logs to an HTTP server (Keras 3's callback).

Sent with the standard library (``urllib.request``), so no HTTP package is needed. A server
that cannot be reached costs a warning, never the training run.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
import warnings
from typing import Any

import numpy as np

from thawnet.callbacks.base import Callback
from thawnet.backend.types import Logs, PathLike


def _plain(value):
    """NumPy / JAX scalars and one-element arrays as Python numbers (JSON-serializable)."""
    if isinstance(value, (np.ndarray, np.generic)) or hasattr(value, "__jax_array__") or (
            type(value).__module__.startswith("jax")):
        return np.asarray(value).item()
    return value


class RemoteMonitor(Callback):
    """Stream the logs of every epoch to a server with an HTTP POST.

    The payload is ``{"epoch": epoch, **logs}``: by default as a form field
    (``field=<json text>``, ``application/x-www-form-urlencoded``), with
    ``send_as_json=True`` as a JSON body (``application/json``).

    Args:
        root: the server's root URL.
        path: the path to POST to, appended to ``root``.
        field: the form field holding the JSON text (form mode only).
        headers: extra HTTP headers, a dict.
        send_as_json: send the payload as a JSON body instead of a form field.
        timeout: seconds to wait for the server (a thawnet addition, so that a server that
            hangs cannot stall training).
    """

    def __init__(self, root: str = "http://localhost:9000", path: PathLike = "/publish/epoch/end/",
                 field: str = "data", headers: Any = None, send_as_json: bool = False,
                 timeout: float = 10.0) -> None:
        super().__init__()
        self.root, self.path, self.field = root, path, field
        self.headers = headers
        self.send_as_json = send_as_json
        self.timeout = timeout

    def _request(self, send: dict) -> urllib.request.Request:
        headers = dict(self.headers or {})
        if self.send_as_json:
            body = json.dumps(send).encode("utf-8")
            headers.setdefault("Content-Type", "application/json")
        else:
            body = urllib.parse.urlencode({self.field: json.dumps(send)}).encode("utf-8")
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        return urllib.request.Request(self.root + self.path, data=body, headers=headers,
                                      method="POST")

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        send = {"epoch": epoch}
        for key, value in (logs or {}).items():
            send[key] = _plain(value)
        try:
            with urllib.request.urlopen(self._request(send), timeout=self.timeout) as reply:
                reply.read()
        except (urllib.error.URLError, OSError, ValueError) as err:
            # HTTP errors, refused connections, timeouts, malformed URLs: training goes on.
            warnings.warn(f"Could not reach RemoteMonitor root server at {self.root} "
                          f"({type(err).__name__}: {err}); the logs of epoch {epoch} were not "
                          "sent. Check that the server runs and that root/path are right.",
                          stacklevel=2)
