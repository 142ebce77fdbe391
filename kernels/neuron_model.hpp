// Neuron-model maths of the output layer, kept apart from the kernels that loop over batches and
// time (GeNN-style): the parameters, the surrogate derivatives of the threshold step, and the
// state codes that the forward pass records for BPTT.
#pragma once
#include <Kokkos_Core.hpp>

namespace supsnn {

enum class Dynamics : int { Integrator = 0, Lif = 1, LifWta = 2 };
enum class Surrogate : int { FastSigmoid = 0, Arctan = 1, Triangle = 2 };

struct NeuronParams {
  Dynamics dynamics = Dynamics::Integrator;
  double leak = 0.005;      // D, subtracted at every integrating point
  double threshold = 80.0;  // P_th
  double reset = 0.0;       // P_reset after a spike
  int refractory = 29;      // points of the fine grid a neuron stays at P_reset after a spike
  double inhibit = -500.0;  // P_in: potential of the losers from the first spike on (lif-wta)
  Surrogate surrogate = Surrogate::FastSigmoid;
  double width = 10.0;  // surrogate width, in potential units
};

// What a neuron did at one point, recorded by the forward pass for the backward pass.
enum NeuronState : unsigned char {
  kIntegrate = 0,  // P = V = P(s-1) + I(s) - D, no spike
  kSpike = 1,      // V crossed the threshold: P = P_reset
  kHold = 2,       // refractory: P(s) = P(s-1), independent of the input
  kInhibited = 3,  // lif-wta loser: P(s) = P_in, a constant
};

// dS/dV of the spike S = H(V - threshold), replaced by a smooth bump of peak 1 and width w.
KOKKOS_INLINE_FUNCTION double surrogate_grad(Surrogate kind, double x, double w) {
  const double a = x < 0 ? -x : x;
  switch (kind) {
    case Surrogate::Arctan: {
      const double z = 1.5707963267948966 * x / w;  // (pi/2) x / w
      return 1.0 / (1.0 + z * z);
    }
    case Surrogate::Triangle:
      return a < w ? 1.0 - a / w : 0.0;
    default: {
      const double z = 1.0 + a / w;
      return 1.0 / (z * z);
    }
  }
}

// The same with the kind fixed at compile time and the arithmetic in Real (float kernels stay in
// float): for the inner loops of kernels/lif_layer.hpp.
template <Surrogate Kind, class Real>
KOKKOS_INLINE_FUNCTION Real surrogate_grad_of(Real x, Real w) {
  if constexpr (Kind == Surrogate::Arctan) {
    const Real z = Real(1.5707963267948966) * x / w;
    return Real(1) / (Real(1) + z * z);
  } else if constexpr (Kind == Surrogate::Triangle) {
    const Real a = x < 0 ? -x : x;
    return a < w ? Real(1) - a / w : Real(0);
  } else {
    const Real a = x < 0 ? -x : x;
    const Real z = Real(1) + a / w;
    return Real(1) / (z * z);
  }
}

}  // namespace supsnn
