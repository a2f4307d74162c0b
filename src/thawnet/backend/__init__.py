"""Engine-level helpers: the stateless scope, random keys and session naming."""

from thawnet.backend.naming import clear_session  # noqa: F401
from thawnet.backend.random import set_random_seed  # noqa: F401
