// Population code (Gaussian receptive fields over intensity, as in Bohte, Kok and La Poutre
// 2002): each pixel drives K input neurons instead of one. Neuron j of a pixel is tuned to the
// stimulus level c_j = j / (K - 1) and fires one latency spike whose delay shrinks as its
// response grows, so a linear readout of the spikes (the bilayer) sees a piecewise function of
// every pixel's intensity instead of one weight times the intensity.
//
//   x   = clamp(pot / pot_hi, 0, 1)                  (pot: the pixel's potential, encode_rate.hpp)
//   r_j = exp(-(x - c_j)^2 / (2 sigma^2)),  sigma = width / (K - 1)
//   step_j = 1 + floor((T - 1) (1 - r_j)) when r_j >= cut, else no spike
//
// The maths runs on the host only: the encoder tabulates step_j for every possible potential
// once per call and copies the table to the device, so device and CPU reference use the same
// libm exp and agree bit for bit on every backend.
#pragma once
#include <cmath>
#include <stdexcept>
#include <string>

#include "encode_rate.hpp"

namespace supsnn {

struct PopulationCode {
  int neurons = 1;     // K input neurons per pixel; 1 = the plain code, one neuron per pixel
  double width = 1.0;  // Gaussian standard deviation in units of the centre spacing 1 / (K - 1)
  double cut = 0.1;    // responses below it do not fire

  void check() const {
    if (neurons < 1 || neurons > 64)
      throw std::invalid_argument("population code: " + std::to_string(neurons) +
                                  " neurons per pixel, expected 1..64");
    if (!(width > 0.0) || !(cut > 0.0 && cut <= 1.0))
      throw std::invalid_argument("population code: width must be > 0 and cut in (0, 1]");
  }
};

inline double population_stimulus(const RateCode& rc, double pot) {
  const double x = pot / rc.pot_hi;
  return x < 0.0 ? 0.0 : (x > 1.0 ? 1.0 : x);
}

inline double population_response(const PopulationCode& pc, double x, int j) {
  const double c = static_cast<double>(j) / (pc.neurons - 1);
  const double sigma = pc.width / (pc.neurons - 1);
  return std::exp(-(x - c) * (x - c) / (2.0 * sigma * sigma));
}

// Spike step of neuron j (0..K-1) of a pixel with potential pot; 0 = no spike. K >= 2.
inline int population_step(const RateCode& rc, const PopulationCode& pc, double pot, int j) {
  const double r = population_response(pc, population_stimulus(rc, pot), j);
  if (!(r >= pc.cut)) return 0;
  const double q = static_cast<double>(rc.raw_steps - 1) * (1.0 - r);  // >= 0
  return 1 + static_cast<int>(q);  // truncation == floor for q >= 0
}

}  // namespace supsnn
