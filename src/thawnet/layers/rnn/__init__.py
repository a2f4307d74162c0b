"""Recurrent layers: cells, the RNN loop (``jax.lax.scan``), LSTM, GRU, SimpleRNN,
StackedRNNCells, Bidirectional and ConvLSTM1D/2D/3D."""

from thawnet.layers.rnn.bidirectional import Bidirectional
from thawnet.layers.rnn.conv_lstm import ConvLSTM1D, ConvLSTM2D, ConvLSTM3D
from thawnet.layers.rnn.gru import GRU, GRUCell
from thawnet.layers.rnn.lstm import LSTM, LSTMCell
from thawnet.layers.rnn.rnn import RNN
from thawnet.layers.rnn.simple_rnn import SimpleRNN, SimpleRNNCell
from thawnet.layers.rnn.stacked import StackedRNNCells

__all__ = ["Bidirectional", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D", "GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "SimpleRNN",
           "SimpleRNNCell", "StackedRNNCells"]
