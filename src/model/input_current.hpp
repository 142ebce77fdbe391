// The first layer's input current from a batch of input spike events, by one of two kernel
// families chosen per batch: event-driven gathers/scatters (kernels/event_current.hpp, cost ~
// events x outputs) or dense matrix products (kernels/dense_current.hpp, cost ~ inputs x steps x
// outputs, at BLAS / cuBLAS speed). `auto` takes the dense path when the batch's input spike
// density is at or above a threshold, by default a cost model per backend and output count
// (default_dense_density; infinity = never). Both paths compute the same sums; they differ only in
// rounding order.
#pragma once
#include <string>

#include "kernels/common.hpp"

namespace supsnn {

enum class InputPath { Auto, Events, Dense };

struct InputPathOptions {
  InputPath path = InputPath::Auto;
  double dense_density = 0;  // Auto: dense at or above this density; 0 = default_dense_density
  int dense_chunk = 0;       // samples per dense buffer fill; 0 = by a memory budget (tests set it)
};

InputPath parse_input_path(const std::string& s);  // "auto" | "events" | "dense"
const char* input_path_name(InputPath p);

// Input spike density (events / (batch x inputs x (T+1))) above which the dense path is cheaper
// for a layer of `outputs` neurons on this build's default execution space (docs/performance.md,
// "Dense input path"): events cost ~ e x density x outputs per input slot, dense ~ g x outputs + x
// (the X buffer's traffic), so the crossover is g/e + x/(e x outputs).
double default_dense_density(int outputs);

// Spike events of the batch, read from fwd_offsets (one scalar copy from the device).
long long event_count(const EventBatch& ev);

template <class Real>
class InputCurrent {
 public:
  void set_options(const InputPathOptions& o) { opt_ = o; }
  const InputPathOptions& options() const { return opt_; }

  // c (B, n, T+1) = W x_b for every sample; chooses the path for this batch.
  void forward(const EventBatch& ev, View2<const Real> W, View3<Real> c);
  // dW (n, m), overwritten = sum_b dc_b x_b^T on the path forward() chose for the same batch.
  void backward(const EventBatch& ev, View3<const Real> dc, View2<Real> dW);
  // Whether the last forward() took the dense path, and the density that decided it (-1 when
  // none did: a forced path, or auto where the dense path never pays).
  bool last_dense() const { return dense_; }
  double last_density() const { return density_; }

 private:
  int chunk(const EventBatch& ev);  // samples per dense buffer fill; grows X_ as needed

  InputPathOptions opt_;
  bool dense_ = false;
  double density_ = 0;
  View1<Real> X_;  // dense spikes of up to chunk samples, all-zero between uses
};

extern template class InputCurrent<double>;
extern template class InputCurrent<float>;

}  // namespace supsnn
