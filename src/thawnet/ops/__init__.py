"""``thawnet.ops``: Keras 3's op names and signatures over ``jax.numpy``, ``jax.nn`` and
``jax.lax``.

Every op computes on arrays (eagerly, or traced inside ``jit``), and on the symbolic tensors
of the functional API it records a graph node instead (see :mod:`thawnet.ops.dispatch`).
``thawnet.ops.numpy``, ``.nn``, ``.core``, ``.math``, ``.linalg`` and ``.image`` are the
submodules of the same names in ``keras.ops``; all of their ops but the image ones are also
here at the top level, as in Keras.

>>> from thawnet import ops
>>> ops.convert_to_numpy(ops.softmax(ops.array([0.0, 0.0]))).tolist()
[0.5, 0.5]
"""

from thawnet.ops import core, einops, image, linalg, math, nn, numpy
from thawnet.ops.core import *  # noqa: F401,F403
from thawnet.ops.einops import rearrange
from thawnet.ops.linalg import *  # noqa: F401,F403
from thawnet.ops.math import *  # noqa: F401,F403
from thawnet.ops.nn import *  # noqa: F401,F403
from thawnet.ops.numpy import *  # noqa: F401,F403

__all__ = sorted(set(core.__all__ + einops.__all__ + linalg.__all__ + math.__all__
                     + nn.__all__ + numpy.__all__)
                 | {"core", "image", "linalg", "math", "nn", "numpy"})
