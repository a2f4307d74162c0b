"""The seed's own code, with only the imports changed, prints the seed's tables line for line."""

import subprocess
import sys
import textwrap

SEED_CODE = textwrap.dedent("""
    from thawnet.layers import *
    from thawnet.models import *
    model = Sequential()
    model.add(Dense(10, trainable=False, input_shape=(100,)))
    model.summary()
    print("----")
    model.layers[0].trainable = True
    model.summary()
    print("----")
    model.add(BatchNormalization())
    model.summary()
""")

TABLE_FROZEN = """\
_________________________________________________________________
Layer (type)                 Output Shape              Param #
=================================================================
dense_1 (Dense)              (None, 10)                1010
=================================================================
Total params: 1,010
Trainable params: 0
Non-trainable params: 1,010
_________________________________________________________________"""

TABLE_THAWED = TABLE_FROZEN.replace("Trainable params: 0", "Trainable params: 1,010").replace(
    "Non-trainable params: 1,010", "Non-trainable params: 0")

TABLE_WITH_BN = """\
_________________________________________________________________
Layer (type)                 Output Shape              Param #
=================================================================
dense_1 (Dense)              (None, 10)                1010
_________________________________________________________________
batch_normalization_1 (Batch (None, 10)                40
=================================================================
Total params: 1,050
Trainable params: 1,030
Non-trainable params: 20
_________________________________________________________________"""


def _tables():
    # A fresh process, so automatic names start at dense_1 exactly as in the seed.
    out = subprocess.run([sys.executable, "-c", SEED_CODE], capture_output=True, text=True,
                         check=True).stdout
    tables = []
    for chunk in out.split("----\n"):
        lines = [line.rstrip() for line in chunk.strip("\n").splitlines()]
        assert lines[0].startswith('Model: "sequential_1"')
        tables.append("\n".join(lines[1:]))
    return tables


def test_seed_code_prints_the_seed_tables_line_for_line():
    frozen, thawed, with_bn = _tables()
    assert frozen == TABLE_FROZEN
    assert thawed == TABLE_THAWED
    assert with_bn == TABLE_WITH_BN


def test_seed_table_lines_are_65_characters_wide():
    for line in TABLE_WITH_BN.splitlines():
        assert len(line) <= 65
