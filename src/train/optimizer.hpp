// Adam with its state (moments, step count) and the learning-rate schedule.
#pragma once
#include <vector>

#include "kernels/adam.hpp"
#include "model/host_views.hpp"

namespace supsnn {

template <class Real>
class Adam {
 public:
  Adam(std::size_t count, AdamParams p) : p_(p), m_("adam_m", count), v_("adam_v", count) {}
  void step(View1<Real> params, View1<const Real> grads, double lr) {
    AdamParams q = p_;
    q.lr = lr;
    adam_update<Real>(q, ++t_, params, grads, m_, v_);
  }
  long steps() const { return t_; }
  View1<Real> first_moment() const { return m_; }
  View1<Real> second_moment() const { return v_; }
  // Resume: the moments and step count of a checkpoint.
  void restore(const std::vector<double>& m, const std::vector<double>& v, long steps) {
    copy_to_device(m, m_);
    copy_to_device(v, v_);
    t_ = steps;
  }

 private:
  AdamParams p_;
  View1<Real> m_, v_;
  long t_ = 0;
};

// lr for a 1-based epoch: constant, or multiplied by gamma at each milestone epoch reached.
inline double scheduled_lr(double lr0, bool step_schedule, const std::vector<long>& milestones,
                           double gamma, long epoch) {
  double lr = lr0;
  if (step_schedule)
    for (long m : milestones)
      if (epoch >= m) lr *= gamma;
  return lr;
}

}  // namespace supsnn
