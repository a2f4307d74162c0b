"""RemoteMonitor posts each epoch's logs to a local HTTP server (a thread of this test): the
form field or JSON body Keras 3 sends; an unreachable server costs a warning."""

import http.server
import json
import threading
import urllib.parse

import numpy as np
import pytest

import thawnet
from thawnet import callbacks as cb
from thawnet import layers as tl


class _Recorder(http.server.BaseHTTPRequestHandler):
    received = []

    def do_POST(self):  # noqa: N802 - the http.server hook's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, self.headers["Content-Type"],
                              self.headers.get("X-Run"), body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):  # quiet
        pass


@pytest.fixture(scope="module")
def server():
    httpd = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", _Recorder.received
    httpd.shutdown()
    httpd.server_close()


def test_json_payload_of_each_epoch(server):
    root, received = server
    received.clear()
    model = thawnet.Sequential([tl.Input(shape=(3,)), tl.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((4, 3), "f4"), np.zeros((4, 2), "f4")
    history = model.fit(x, y, epochs=2, batch_size=4, verbose=0, validation_data=(x, y),
                        callbacks=[cb.RemoteMonitor(root=root, send_as_json=True,
                                                    headers={"X-Run": "r1"})])
    assert [r[:3] for r in received] == [("/publish/epoch/end/", "application/json", "r1")] * 2
    sent = [json.loads(r[3]) for r in received]
    assert sent == [{"epoch": e, "loss": history.history["loss"][e],
                     "val_loss": history.history["val_loss"][e]} for e in range(2)]


def test_form_field_payload_and_numpy_values(server):
    root, received = server
    received.clear()
    monitor = cb.RemoteMonitor(root=root, path="/p", field="payload")
    monitor.on_epoch_end(3, logs={"loss": np.float32(0.5), "val": np.arange(1)})
    path, kind, _, body = received[0]
    assert (path, kind) == ("/p", "application/x-www-form-urlencoded")
    form = urllib.parse.parse_qs(body.decode())
    assert json.loads(form["payload"][0]) == {"epoch": 3, "loss": 0.5, "val": 0}


def test_unreachable_server_warns():
    monitor = cb.RemoteMonitor(root="http://127.0.0.1:9", timeout=2.0)  # discard port: closed
    with pytest.warns(UserWarning, match=r"Could not reach RemoteMonitor root server at "
                                         r"http://127\.0\.0\.1:9 \(.*the logs of epoch 0"):
        monitor.on_epoch_end(0, logs={"loss": 0.0})
