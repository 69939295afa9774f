// Autograd: backward (sync and on the executor), autograd.grad, grad mode, and the
// per-tensor autograd attributes (requiresGrad, grad, isLeaf).
// Grad mode is thread-local in libtorch: setGradEnabled affects the JS thread; executor
// jobs get the mode captured when they were queued (executor.h).
#pragma once
#include "addon.h"
