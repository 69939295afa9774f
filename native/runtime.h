// Process-wide libtorch settings and build facts: seeds, thread counts, CUDA availability,
// versions. CUDA queries compile against CPU-only libtorch and report no devices there.
#pragma once
#include "addon.h"
