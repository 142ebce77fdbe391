#include "adam_host.hpp"
#include "vector_clones.hpp"

#include <cmath>

namespace supsnn {

namespace {
// The element update of kernels/adam.hpp, with the same operation order.
template <class Real>
inline void adam_loop(Real* __restrict w, const Real* __restrict g, Real* __restrict m,
                      Real* __restrict v, int count, const AdamScalars& s) {
  const Real b1 = static_cast<Real>(s.b1), b2 = static_cast<Real>(s.b2);
  const Real lr_t = static_cast<Real>(s.lr_t), eps = static_cast<Real>(s.eps);
  const Real keep = static_cast<Real>(s.keep);
  for (int i = 0; i < count; ++i) {
    const Real gi = g[i];
    const Real mi = b1 * m[i] + (Real(1) - b1) * gi;
    const Real vi = b2 * v[i] + (Real(1) - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    w[i] = keep * w[i] - lr_t * mi / (std::sqrt(vi) + eps);
  }
}
}  // namespace

SUPSNN_VECTOR_CLONES
void adam_chunk_host(float* w, const float* g, float* m, float* v, int count,
                     const AdamScalars& s) {
  adam_loop(w, g, m, v, count, s);
}

SUPSNN_VECTOR_CLONES
void adam_chunk_host(double* w, const double* g, double* m, double* v, int count,
                     const AdamScalars& s) {
  adam_loop(w, g, m, v, count, s);
}

}  // namespace supsnn
