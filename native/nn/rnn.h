// Recurrent modules and cells: torch::nn::{RNN, LSTM, GRU, RNNCell, LSTMCell, GRUCell}.
#pragma once
#include "module.h"
