// The hidden layers' products of a layered network on both paths (`supsnn bench --train --layers
// CONFIG --density P,...`): event-driven (kernels/event_conv.hpp) against im2col + gemm
// (kernels/gemm_rows.hpp), forward and weight gradient, on random inputs of each density; the
// crossover behind default_event_density (docs/performance.md, "Event-driven hidden layers").
#pragma once
#include "bench/train_bench.hpp"

namespace supsnn {

void run_product_bench(const TrainBenchOptions& o);

}  // namespace supsnn
