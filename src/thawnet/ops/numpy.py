"""``thawnet.ops.numpy``: the numpy-like ops, as Keras 3's ``keras.ops.numpy``.

The ops live in files by kind (elementwise, reductions, products, creation, shape, joining,
indexing); this module gathers them under Keras's submodule name.
"""

from thawnet.ops import (numpy_create, numpy_elementwise, numpy_index, numpy_join,
                         numpy_products, numpy_reduce, numpy_shape)
from thawnet.ops.linalg import slogdet
from thawnet.ops.numpy_create import *  # noqa: F401,F403
from thawnet.ops.numpy_elementwise import *  # noqa: F401,F403
from thawnet.ops.numpy_index import *  # noqa: F401,F403
from thawnet.ops.numpy_join import *  # noqa: F401,F403
from thawnet.ops.numpy_products import *  # noqa: F401,F403
from thawnet.ops.numpy_reduce import *  # noqa: F401,F403
from thawnet.ops.numpy_shape import *  # noqa: F401,F403

__all__ = sorted(
    numpy_create.__all__ + numpy_elementwise.__all__ + numpy_index.__all__ + numpy_join.__all__
    + numpy_products.__all__ + numpy_reduce.__all__ + numpy_shape.__all__ + ["slogdet"])
