"""thawnet.applications: Keras's pretrained architectures, built from thawnet layers.

Each family lives in its own module and registers its builders in that module's ``MODELS``
(``{"resnet50": ResNet50, ...}``); ``by_name`` finds them for ``thawnet summary <name>``.
"""

from __future__ import annotations

from typing import Any

from thawnet.applications import (densenet, efficientnet, inception_v3, mobilenet_v2, resnet,
                                  resnet_v2, vgg, xception)
from thawnet.applications import convnext, efficientnet_v2, mobilenet_v3
from thawnet.applications import nasnet
from thawnet.applications.densenet import *  # noqa: F401,F403
from thawnet.applications.efficientnet import *  # noqa: F401,F403
from thawnet.applications.inception_v3 import *  # noqa: F401,F403
from thawnet.applications.mobilenet_v2 import *  # noqa: F401,F403
from thawnet.applications.resnet import *  # noqa: F401,F403
from thawnet.applications.resnet_v2 import *  # noqa: F401,F403
from thawnet.applications.mobilenet_v3 import *  # noqa: F401,F403
from thawnet.applications.nasnet import *  # noqa: F401,F403
from thawnet.applications.convnext import *  # noqa: F401,F403
from thawnet.applications.efficientnet_v2 import *  # noqa: F401,F403
from thawnet.applications.vgg import *  # noqa: F401,F403
from thawnet.applications.xception import *  # noqa: F401,F403

_FAMILIES = (vgg, resnet, xception, inception_v3, densenet, mobilenet_v2, efficientnet,
             resnet_v2, mobilenet_v3, convnext, efficientnet_v2, nasnet)


def available() -> list:
    """Names accepted by :func:`by_name` (``"inception_v3"``, ``"resnet50"``, ...)."""
    return sorted(name for family in _FAMILIES for name in family.MODELS)


def by_name(name: str | None) -> Any:
    """The builder for a zoo name; KeyError listing the names when unknown."""
    key = name.lower().replace("-", "_")
    for family in _FAMILIES:
        if key in family.MODELS:
            return family.MODELS[key]
    raise KeyError(f"No zoo model named {name!r}. Available: {', '.join(available())}.")
