// Statistics of repeated runs: summary of a sample (mean, sample std, quantiles like numpy's
// default linear interpolation) and the Student t quantile for confidence intervals.
#pragma once
#include <vector>

namespace supsnn {

struct SampleStats {
  long count = 0;  // finite values used; the rest are NaN
  double mean = 0, std = 0, min = 0, max = 0, median = 0, p10 = 0, p90 = 0;
  double ci95_low = 0, ci95_high = 0;  // mean -/+ t_{0.975,count-1} * std / sqrt(count)
};

// Non-finite values are ignored. Empty: count 0 and NaN everywhere; one value: std and the
// interval are NaN (ddof = 1 needs two).
SampleStats sample_stats(std::vector<double> values);

// q-th quantile (0..1) of sorted finite values, numpy.quantile's default ("linear").
double quantile_sorted(const std::vector<double>& sorted, double q);

// Regularised incomplete beta I_x(a, b) and the Student t distribution with `dof` degrees of
// freedom: its CDF and its p-quantile (p in (0, 1), dof >= 1).
double incomplete_beta(double a, double b, double x);
double student_t_cdf(double t, double dof);
double student_t_quantile(double p, double dof);

}  // namespace supsnn
