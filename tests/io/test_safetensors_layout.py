"""safetensors decoding without the package's copy: views into the file's bytes, with the
format's layout rule checked here (tensors back to back, covering the data exactly)."""

import json
import struct

import numpy as np
import pytest

from thawnet.io import safetensors_io as st
from thawnet.io.errors import FileFormatError


def _file(entries, data):
    header = json.dumps(entries).encode("utf-8")
    return struct.pack("<Q", len(header)) + header + data


def test_decoded_arrays_are_the_encoded_ones_without_a_copy():
    arrays = {"a": np.arange(6, dtype=np.float32).reshape(2, 3),
              "b": np.array(7, np.int32), "empty": np.zeros((0, 4), np.float32)}
    data = st.encode(arrays)
    decoded, header = st.decode(data, "'w.safetensors'")
    assert set(decoded) == set(arrays)
    for name, value in arrays.items():
        np.testing.assert_array_equal(decoded[name], value)
        assert decoded[name].dtype == value.dtype and decoded[name].shape == value.shape
    assert not decoded["a"].flags.owndata  # a view into the file's bytes
    assert st.content_digest(decoded) == st.content_digest(arrays)


@pytest.mark.parametrize("offsets, message", [
    ([[0, 8], [4, 12]], "overlap or leave a gap"),
    ([[0, 8], [12, 20]], "overlap or leave a gap"),
    ([[0, 8], [8, 16]], "cover 16 of the 24 data bytes"),
])
def test_overlapping_gapped_or_short_layouts_are_refused(offsets, message):
    entries = {name: {"dtype": "F32", "shape": [2], "data_offsets": o}
               for name, o in zip(("a", "b"), offsets)}
    data = _file(entries, bytes(24))
    with pytest.raises(FileFormatError, match=message):
        st.decode(data, "'bad.safetensors'")
