#include "sweep/stats.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/error.hpp"

namespace supsnn {

double quantile_sorted(const std::vector<double>& s, double q) {
  if (s.empty()) return NAN;
  const double pos = q * static_cast<double>(s.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, s.size() - 1);
  return s[lo] + (pos - static_cast<double>(lo)) * (s[hi] - s[lo]);
}

SampleStats sample_stats(std::vector<double> values) {
  values.erase(
      std::remove_if(values.begin(), values.end(), [](double v) { return !std::isfinite(v); }),
      values.end());
  std::sort(values.begin(), values.end());
  SampleStats r;
  r.count = static_cast<long>(values.size());
  if (values.empty()) {
    r.mean = r.std = r.min = r.max = r.median = r.p10 = r.p90 = r.ci95_low = r.ci95_high = NAN;
    return r;
  }
  double sum = 0;
  for (double v : values) sum += v;
  r.mean = sum / r.count;
  r.min = values.front();
  r.max = values.back();
  r.median = quantile_sorted(values, 0.5);
  r.p10 = quantile_sorted(values, 0.1);
  r.p90 = quantile_sorted(values, 0.9);
  if (r.count < 2) {
    r.std = r.ci95_low = r.ci95_high = NAN;
    return r;
  }
  double sq = 0;
  for (double v : values) sq += (v - r.mean) * (v - r.mean);
  r.std = std::sqrt(sq / (r.count - 1));
  const double half =
      student_t_quantile(0.975, static_cast<double>(r.count - 1)) * r.std / std::sqrt(r.count);
  r.ci95_low = r.mean - half;
  r.ci95_high = r.mean + half;
  return r;
}

namespace {
// Continued fraction of the incomplete beta function (modified Lentz), converging for
// x < (a + 1) / (a + b + 2).
double beta_cf(double a, double b, double x) {
  const double tiny = 1e-300, eps = 1e-15;
  double c = 1, d = 1 - (a + b) * x / (a + 1);
  if (std::fabs(d) < tiny) d = tiny;
  d = 1 / d;
  double h = d;
  for (int m = 1; m <= 500; ++m) {
    const double m2 = 2.0 * m;
    double aa = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (std::fabs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (std::fabs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1 / d;
    const double del = d * c;
    h *= del;
    if (std::fabs(del - 1) < eps) break;
  }
  return h;
}
}  // namespace

double incomplete_beta(double a, double b, double x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const double front = std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) +
                                a * std::log(x) + b * std::log1p(-x));
  if (x < (a + 1) / (a + b + 2)) return front * beta_cf(a, b, x) / a;
  return 1 - front * beta_cf(b, a, 1 - x) / b;
}

double student_t_cdf(double t, double dof) {
  // P(|T| > |t|) = I_{dof / (dof + t^2)}(dof / 2, 1 / 2).
  const double tail = 0.5 * incomplete_beta(dof / 2, 0.5, dof / (dof + t * t));
  return t >= 0 ? 1 - tail : tail;
}

double student_t_quantile(double p, double dof) {
  if (!(p > 0 && p < 1) || !(dof >= 1))
    throw Error("student_t_quantile: need 0 < p < 1 and dof >= 1, got p = " + std::to_string(p) +
                ", dof = " + std::to_string(dof));
  if (p < 0.5) return -student_t_quantile(1 - p, dof);
  // Bisection on the monotone CDF: bracket, then halve to double precision.
  double lo = 0, hi = 1;
  while (student_t_cdf(hi, dof) < p) hi *= 2;
  for (int i = 0; i < 200 && hi - lo > 1e-15 * hi; ++i) {
    const double mid = 0.5 * (lo + hi);
    (student_t_cdf(mid, dof) < p ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

}  // namespace supsnn
