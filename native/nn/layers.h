// The layers a sequence model needs: torch::nn::{Linear, Embedding, Dropout, LayerNorm}.
#pragma once
#include "module.h"
