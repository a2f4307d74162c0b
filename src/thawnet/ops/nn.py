"""``thawnet.ops.nn``: neural-network ops, as Keras 3's ``keras.ops.nn`` (activations,
convolutions and pooling, encodings, normalisations, losses, CTC, attention)."""

from thawnet.ops import (nn_activations, nn_conv, nn_crossentropy, nn_ctc, nn_misc,
                         nn_windows)
from thawnet.ops.nn_activations import *  # noqa: F401,F403
from thawnet.ops.nn_conv import *  # noqa: F401,F403
from thawnet.ops.nn_crossentropy import *  # noqa: F401,F403
from thawnet.ops.nn_ctc import *  # noqa: F401,F403
from thawnet.ops.nn_misc import *  # noqa: F401,F403
from thawnet.ops.nn_windows import *  # noqa: F401,F403

__all__ = sorted(nn_activations.__all__ + nn_conv.__all__ + nn_crossentropy.__all__ + nn_ctc.__all__
                 + nn_misc.__all__ + nn_windows.__all__)
