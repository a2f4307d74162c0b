"""thawnet.layers: the building blocks. ``from thawnet.layers import *`` gives them all."""

from thawnet.layers.activation_layers import ELU, Activation, LeakyReLU, ReLU, Softmax
from thawnet.layers.activity_regularization import ActivityRegularization
from thawnet.layers.lambda_layer import Lambda
from thawnet.layers.masking import Masking
from thawnet.layers.convolutional import *  # noqa: F401,F403
from thawnet.layers.dense import Dense
from thawnet.layers.dropout import Dropout
from thawnet.layers.embedding import *  # noqa: F401,F403
from thawnet.layers.input_layer import Input, InputLayer
from thawnet.layers.input_spec import InputSpec
from thawnet.layers.layer import Layer
from thawnet.layers.merging import *  # noqa: F401,F403
from thawnet.layers.normalization import *  # noqa: F401,F403
from thawnet.layers.pooling import *  # noqa: F401,F403
from thawnet.layers.preprocessing import *  # noqa: F401,F403
from thawnet.layers.preprocessing_image import *  # noqa: F401,F403
from thawnet.layers.reshaping import *  # noqa: F401,F403
from thawnet.layers.reshaping_3d import *  # noqa: F401,F403
from thawnet.layers.adaptive_pooling import *  # noqa: F401,F403
from thawnet.layers.prelu import PReLU
from thawnet.layers.remat import RematScope  # Keras 3's rematerialization scope
from thawnet.layers.identity import Identity
from thawnet.layers.time_distributed import TimeDistributed
from thawnet.layers.wrapper import Wrapper
from thawnet.layers.einsum_dense import EinsumDense
from thawnet.layers.attention import AdditiveAttention, Attention
from thawnet.layers.multi_head_attention import MultiHeadAttention
from thawnet.layers.group_query_attention import GroupedQueryAttention, GroupQueryAttention
from thawnet.layers.group_normalization import GroupNormalization
from thawnet.layers.rms_normalization import RMSNormalization, UnitNormalization
from thawnet.layers.spectral_normalization import SpectralNormalization
from thawnet.layers.noise import AlphaDropout, GaussianDropout, GaussianNoise
from thawnet.layers.spatial_dropout import SpatialDropout1D, SpatialDropout2D, SpatialDropout3D
from thawnet.layers.rnn import *  # noqa: F401,F403
from thawnet.layers import adaptive_pooling, reshaping_3d
from thawnet.layers import preprocessing_image
from thawnet.layers import rnn
from thawnet.layers import (convolutional, embedding, merging, normalization, pooling,
                            preprocessing, reshaping)

__all__ = [
    "Activation", "ActivityRegularization", "Dense", "Lambda", "Masking", "Dropout", "ELU", "Input", "InputLayer", "InputSpec", "Layer",
    "LeakyReLU", "ReLU", "Softmax",
] + (convolutional.__all__ + embedding.__all__ + merging.__all__ + normalization.__all__
     + pooling.__all__ + preprocessing.__all__ + reshaping.__all__) + (
    reshaping_3d.__all__ + adaptive_pooling.__all__ + ["PReLU", "Identity", "TimeDistributed", "Wrapper"]) + preprocessing_image.__all__ + rnn.__all__
__all__ += ["GroupNormalization", "RMSNormalization", "UnitNormalization",
            "SpectralNormalization", "AlphaDropout", "GaussianDropout", "GaussianNoise",
            "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D"]
__all__ += ["EinsumDense", "Attention", "AdditiveAttention", "MultiHeadAttention",
            "GroupQueryAttention", "GroupedQueryAttention"]
