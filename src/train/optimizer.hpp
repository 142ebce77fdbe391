// Adam with its state (moments, step count) and the learning-rate schedule.
#pragma once
#include <vector>

#include "kernels/adam.hpp"
#include "kernels/weight_average.hpp"
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

// Exponential moving average of the weights (optim.ema; kernels/weight_average.hpp). Every rank
// holds the same weights after each step (all-reduced gradients, identical Adam updates), so
// every rank's average is the same too: no communication.
template <class Real>
class WeightAverage {
 public:
  // decay 0: off (no buffers). Otherwise the average starts as a copy of `params`.
  WeightAverage(double decay, View1<Real> params) : decay_(decay) {
    if (!on()) return;
    avg_ = View1<Real>("weight_average", params.extent(0));
    saved_ = View1<Real>("weights_saved", params.extent(0));
    Kokkos::deep_copy(avg_, params);
  }
  bool on() const { return decay_ > 0; }
  // After optimiser step t (1-based, Adam's count).
  void update(View1<const Real> params, long t) {
    if (on()) ema_update<Real>(decay_, t, avg_, params);
  }
  std::vector<double> host() const { return on() ? host_copy(avg_) : std::vector<double>{}; }
  void restore(const std::vector<double>& a) { copy_to_device(a, avg_); }
  // While the returned guard lives, `params` holds the average (evaluation, model selection);
  // the training weights come back when it goes. Without averaging it changes nothing.
  class Swap {
   public:
    Swap(const WeightAverage& a, View1<Real> params) : a_(a), p_(params) {
      if (!a_.on()) return;
      Kokkos::deep_copy(a_.saved_, p_);  // deep_copy fences: no kernel still reads params
      Kokkos::deep_copy(p_, a_.avg_);
    }
    ~Swap() {
      if (a_.on()) Kokkos::deep_copy(p_, a_.saved_);
    }
    Swap(const Swap&) = delete;
    Swap& operator=(const Swap&) = delete;

   private:
    const WeightAverage& a_;
    View1<Real> p_;
  };
  Swap averaged(View1<Real> params) const { return Swap(*this, params); }

 private:
  double decay_;
  View1<Real> avg_, saved_;
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
