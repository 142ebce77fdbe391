// Kernels of the unsupervised STDP guidance stage (seed-model.md section 2, docs/model.md "STDP
// guidance stage"): the input current of the output neurons per raw step, the STDP weight update
// of one output neuron at one of its spikes, the unused-input penalty after an image, and the
// per-step LIF / winner-take-all logic (a few scalar operations on n <= ~10 neurons, host only).
//
// The spikes of one sample are given twice (both sorted, so every kernel is a gather: no atomics,
// bit-reproducible on every backend):
//   step-major   off(k) .. off(k+1) (k = 0..T, T+2 offsets): input neurons spiking at step k;
//   input-major  act_neuron(a) (a = 0..A-1, the inputs that spike at least once, increasing),
//                act_off(a) .. act_off(a+1): their spike steps, increasing.
// Kernels are templated on the execution space (the guide runs its sequential sample loop on the
// host space; tests also run them on the default one). Each has a plain CPU reference below.
#pragma once
#include <cmath>
#include <cstdint>
#include <vector>

#include "common.hpp"

namespace supsnn {

struct StdpParams {
  double a_plus = 0.8, a_minus = 0.3;  // depression / potentiation amplitudes
  double tau_plus = 8, tau_minus = 5;  // their time constants (steps)
  int window = 20;                     // |dt| in [2, window]
  double sigma = 0.1;                  // learning rate of the soft bounds
  double w_max = 1.5, w_min = -1.2;
  bool lower_bound =
      false;  // depression scales with (w - w_min) instead of the seed's (w - |w_min|)
};

struct LifParams {
  double leak = 5, p_rest = 0, p_reset = 0, p_inhibit = -500;
  int t_ref = 20;
  // guide.inhibition = "graded": no winner-take-all event; each output spike lowers the potential
  // of every neuron that did not spike in that step by inhibit_step (down to p_inhibit).
  bool graded = false;
  double inhibit_step = 0;
};

template <class Exec>
using GView1 = Kokkos::View<double*, typename Exec::memory_space>;
template <class Exec>
using GView2 = Kokkos::View<double**, Kokkos::LayoutRight, typename Exec::memory_space>;
template <class Exec>
using GIndex = Kokkos::View<const int*, typename Exec::memory_space>;
// The weights W(j, i), n outputs x m inputs, stored input-major (LayoutLeft: the n weights of
// one input are adjacent), so that a step's input current adds whole contiguous columns
// (step_currents) instead of gathering one weight per output and input.
template <class Exec>
using GWeights = Kokkos::View<double**, Kokkos::LayoutLeft, typename Exec::memory_space>;

// dw of one pre-spike at dt = t_pre - t_post (0 outside both windows).
KOKKOS_INLINE_FUNCTION double stdp_dw(const StdpParams& p, int dt) {
  if (dt <= -2 && dt >= -p.window) return p.a_minus * kmath::exp(dt / p.tau_minus);
  if (dt >= 2 && dt <= p.window) return -p.a_plus * kmath::exp(-dt / p.tau_plus);
  return 0.0;
}

// One soft-bounded update, then clamped to [w_min, w_max]. The seed's rule (the base
// implementation's, kept as is): for w < |w_min| its depression branch also increases w.
// With lower_bound, depression scales with the distance to w_min, so it decreases w.
KOKKOS_INLINE_FUNCTION double stdp_apply(const StdpParams& p, double w, double dw) {
  const double abs_min = p.lower_bound ? p.w_min : (p.w_min < 0 ? -p.w_min : p.w_min);
  if (dw > 0)
    w += p.sigma * dw * (p.w_max - w);
  else if (dw < 0)
    w += p.sigma * dw * (w - abs_min);
  return w < p.w_min ? p.w_min : (w > p.w_max ? p.w_max : w);
}

// All updates of one input at an output spike at step t, from its sorted spike steps s[0..c), in
// the base implementation's order: dt = -2, -3, ..., -window, then 2, 3, ..., window.
template <class Steps>
KOKKOS_INLINE_FUNCTION double stdp_input(const StdpParams& p, double w, const Steps& s, int lo,
                                         int hi, int t) {
  for (int e = hi - 1; e >= lo; --e) {  // descending steps: dt = -2, -3, ...
    const int dt = s(e) - t;
    if (dt <= -2 && dt >= -p.window) w = stdp_apply(p, w, stdp_dw(p, dt));
  }
  for (int e = lo; e < hi; ++e) {  // ascending steps: dt = 2, 3, ...
    const int dt = s(e) - t;
    if (dt >= 2 && dt <= p.window) w = stdp_apply(p, w, stdp_dw(p, dt));
  }
  return w;
}

// Kernel: STDP of output neuron j at its spike at step t, one work item per spiking input (inputs
// that never spike have no pre-spikes and keep their weight). Returns without a fence.
template <class Exec>
void stdp_update(const Exec& exec, const GWeights<Exec> W, const int j, const int t,
                 const GIndex<Exec> act_neuron, const GIndex<Exec> act_off,
                 const GIndex<Exec> act_step, const int A, const StdpParams p) {
  Kokkos::parallel_for(
      "supsnn::stdp_update", Kokkos::RangePolicy<Exec>(exec, 0, A), KOKKOS_LAMBDA(const int a) {
        const int i = act_neuron(a);
        W(j, i) = stdp_input(p, W(j, i), act_step, act_off(a), act_off(a + 1), t);
      });
}

// Kernel: input current cur(k, j) = sum_{i spiking at k} W(j, i) for every step k = k0..T and
// neuron j in [j0, j1) (cur: T+1 rows of n; rows < k0 and other neurons are left alone). One team
// per step; for each of the step's events in order, the team adds input i's column W(j0..j1, i)
// to the step's row (contiguous in both: vectorised on CPUs, coalesced on GPUs). Each (k, j) is
// summed by one thread in event order, so the sums are reproducible and equal to the per-(j, k)
// sum in step order; the same thread owns the same j in every TeamThreadRange of equal length,
// so no barrier is needed between events. Returns without a fence.
template <class Exec>
void step_currents(const Exec& exec, const GWeights<Exec> W, const GIndex<Exec> off,
                   const GIndex<Exec> neuron, const int j0, const int j1, const int k0, const int T,
                   const GView2<Exec> cur) {
  const int nk = T + 1 - k0, nj = j1 - j0;
  if (nk <= 0 || nj <= 0) return;
  using Policy = Kokkos::TeamPolicy<Exec>;
  using Member = typename Policy::member_type;
  Kokkos::parallel_for(
      "supsnn::stdp_step_currents", Policy(exec, nk, Kokkos::AUTO),
      KOKKOS_LAMBDA(const Member& team) {
        const int k = k0 + team.league_rank();
        Kokkos::parallel_for(Kokkos::TeamThreadRange(team, nj),
                             [&](const int q) { cur(k, j0 + q) = 0; });
        for (int e = off(k); e < off(k + 1); ++e) {
          const int i = neuron(e);
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, nj),
                               [&](const int q) { cur(k, j0 + q) += W(j0 + q, i); });
        }
      });
}

// Kernel: after an image with a winner j, every input that never spiked (spiked(i) == 0) loses
// `penalty` from its weight to j, clamped at w_min. Returns without a fence.
template <class Exec>
void unused_penalty(const Exec& exec, const GWeights<Exec> W, const int j,
                    const Kokkos::View<const std::uint8_t*, typename Exec::memory_space> spiked,
                    const double penalty, const double w_min) {
  const int m = static_cast<int>(W.extent(1));
  Kokkos::parallel_for(
      "supsnn::stdp_unused_penalty", Kokkos::RangePolicy<Exec>(exec, 0, m),
      KOKKOS_LAMBDA(const int i) {
        if (spiked(i)) return;
        const double w = W(j, i) - penalty;
        W(j, i) = w < w_min ? w_min : w;
      });
}

// Kernel: per-neuron weight normalisation (Diehl and Cook 2015): row j is scaled so that its
// weights sum to `target` (l2: their Euclidean norm is `target`) when that sum (norm) is
// positive, then clamped to [w_min, w_max]. Fences (the scale is a reduction the host reads).
template <class Exec>
void normalise_row(const Exec& exec, const GWeights<Exec> W, const int j, const double target,
                   const bool l2, const double w_min, const double w_max) {
  const int m = static_cast<int>(W.extent(1));
  double have = 0;
  Kokkos::parallel_reduce(
      "supsnn::stdp_row_sum", Kokkos::RangePolicy<Exec>(exec, 0, m),
      KOKKOS_LAMBDA(const int i, double& acc) { acc += l2 ? W(j, i) * W(j, i) : W(j, i); }, have);
  if (l2) have = std::sqrt(have);
  if (!(have > 0)) return;
  const double f = target / have;
  Kokkos::parallel_for(
      "supsnn::stdp_normalise_row", Kokkos::RangePolicy<Exec>(exec, 0, m),
      KOKKOS_LAMBDA(const int i) {
        const double w = W(j, i) * f;
        W(j, i) = w < w_min ? w_min : (w > w_max ? w_max : w);
      });
  exec.fence();  // the caller's host loop reads W next
}

// Homeostasis after a training sample (host): each neuron's threshold offset rises by `plus` per
// spike it fired in the sample, then every offset decays by the factor `decay`.
inline void homeostasis_update(std::vector<double>& theta, const std::vector<int>& fired,
                               double plus, double decay) {
  for (std::size_t j = 0; j < theta.size(); ++j) theta[j] = (theta[j] + plus * fired[j]) * decay;
}

// Neuron state of one sample (host).
struct LifState {
  std::vector<double> P;         // membrane potential
  std::vector<int> ref_until;    // refractory (no integration) while t <= ref_until
  std::vector<char> inhibited;   // set at the winner-take-all event, for the rest of the sample
  std::vector<int> first_spike;  // step of each neuron's first spike (0: none yet)
  int winner = -1;               // -1 until the first threshold crossing
  void reset(int n, double p_rest) {
    P.assign(n, p_rest);
    ref_until.assign(n, 0);
    inhibited.assign(n, 0);
    first_spike.assign(n, 0);
    winner = -1;
  }
};

// Integration of step t (host): every neuron that is neither inhibited nor refractory adds its
// input current cur[j] and, when above rest, loses the leak. Inhibited neurons stay at p_inhibit.
inline void lif_integrate(const LifParams& lp, LifState& s, int t, const double* cur, int stride) {
  const int n = static_cast<int>(s.P.size());
  for (int j = 0; j < n; ++j) {
    if (s.inhibited[j] || t <= s.ref_until[j]) continue;
    s.P[j] += cur[static_cast<std::size_t>(j) * stride];
    if (s.P[j] > lp.p_rest) s.P[j] -= lp.leak;
  }
}

// Winner-take-all and spikes of step t after integration (host). Neuron j's threshold is
// th + theta[j] (theta: the homeostatic offsets, guide.theta_plus; null = all 0). The first time
// any potential reaches its threshold (the spike condition, so the first output spike of a sample
// always comes with the winner-take-all), the neuron furthest above its threshold (lowest index on
// ties; with theta = 0 the argmax of P) wins, or `forced` when >= 0 (teacher mode), and
// every other neuron is set to p_inhibit for the rest of the sample. Then every non-inhibited,
// non-refractory neuron at or above its threshold spikes: P = p_reset, refractory for steps
// t+1..t+t_ref. Writes the spiking neurons to spikes (returns their count).
// lp.graded (and no forced winner): nobody is inhibited for good; s.winner is still the first
// crossing's neuron, and after the spikes of step t every neuron that did not spike loses
// inhibit_step per spike (not below p_inhibit).
inline int lif_fire(const LifParams& lp, LifState& s, int t, double th, int forced, int* spikes,
                    const double* theta = nullptr) {
  const int n = static_cast<int>(s.P.size());
  auto over = [&](int j) { return s.P[j] - (theta ? th + theta[j] : th); };
  const bool graded = lp.graded && forced < 0;
  if (s.winner < 0) {
    int best = -1;
    for (int j = 0; j < n; ++j)
      if (over(j) >= 0 && (best < 0 || over(j) > over(best))) best = j;
    if (best >= 0) {
      s.winner = forced >= 0 ? forced : best;
      for (int j = 0; j < n && !graded; ++j)
        if (j != s.winner) {
          s.P[j] = lp.p_inhibit;
          s.inhibited[j] = 1;
        }
    }
  }
  int ns = 0;
  for (int j = 0; j < n; ++j) {
    if (s.inhibited[j] || t <= s.ref_until[j] || !(over(j) >= 0)) continue;
    s.P[j] = lp.p_reset;
    s.ref_until[j] = t + lp.t_ref;
    if (s.first_spike[j] == 0) s.first_spike[j] = t;
    spikes[ns++] = j;
  }
  if (graded && ns > 0)
    for (int j = 0, q = 0; j < n; ++j) {
      if (q < ns && spikes[q] == j) {  // spiked at t (spikes are in increasing order)
        ++q;
        continue;
      }
      const double p = s.P[j] - lp.inhibit_step * ns;
      s.P[j] = p < lp.p_inhibit ? lp.p_inhibit : p;
    }
  return ns;
}

// The sample's winner after its last step: winner-take-all: the first crossing's neuron; graded:
// the neuron with the most spikes (ties: the earlier first spike, then the lower index), -1 when
// none spiked. fired[j]: spikes of neuron j in the sample.
inline int sample_winner(const LifParams& lp, const LifState& s, const std::vector<int>& fired,
                         int forced) {
  if (!lp.graded || forced >= 0) return s.winner;
  int best = -1;
  for (int j = 0; j < static_cast<int>(fired.size()); ++j)
    if (fired[j] > 0 && (best < 0 || fired[j] > fired[best] ||
                         (fired[j] == fired[best] && s.first_spike[j] < s.first_spike[best])))
      best = j;
  return best;
}

// The rows that learn after a sample (unused-input penalty, normalisation): the winner, or with
// graded inhibition every neuron that spiked.
inline std::vector<int> learning_rows(const LifParams& lp, const LifState& s,
                                      const std::vector<int>& fired, int forced) {
  std::vector<int> rows;
  if (lp.graded && forced < 0) {
    for (int j = 0; j < static_cast<int>(fired.size()); ++j)
      if (fired[j] > 0) rows.push_back(j);
  } else if (s.winner >= 0) {
    rows.push_back(s.winner);
  }
  return rows;
}

// ---- Plain CPU references (dense spike trains x[i*(T+1) + k], k = 0..T) ----

// STDP of row w (m weights) at an output spike at step t, the base implementation's loops.
inline void stdp_update_ref(const StdpParams& p, double* w, const std::uint8_t* x, int m, int T,
                            int t) {
  for (int i = 0; i < m; ++i) {
    const std::uint8_t* xi = x + static_cast<std::size_t>(i) * (T + 1);
    for (int dt = -2; dt >= -p.window; --dt)
      if (t + dt >= 0 && t + dt <= T && xi[t + dt]) w[i] = stdp_apply(p, w[i], stdp_dw(p, dt));
    for (int dt = 2; dt <= p.window; ++dt)
      if (t + dt >= 0 && t + dt <= T && xi[t + dt]) w[i] = stdp_apply(p, w[i], stdp_dw(p, dt));
  }
}

// One whole sample on dense trains: W (n x m, row-major) is updated in place when `learn`;
// trace (n x T, steps 1..T) receives the potentials after integration and before
// winner-take-all/reset of each step. Returns the winner (sample_winner; -1 when no potential
// reached th). theta: per-neuron threshold offsets (null = 0); normalise > 0: each learning row
// is scaled to sum normalise x m (l2: to Euclidean norm normalise x sqrt(m)) after the penalty.
inline int guide_sample_ref(const LifParams& lp, const StdpParams& sp, double penalty,
                            std::vector<double>& W, int n, int m, int T, const std::uint8_t* x,
                            double th, bool learn, int forced, double* trace,
                            const double* theta = nullptr, double normalise = 0, bool l2 = false) {
  LifState s;
  s.reset(n, lp.p_rest);
  std::vector<double> cur(static_cast<std::size_t>(n));
  std::vector<int> spikes(static_cast<std::size_t>(n)), fired(static_cast<std::size_t>(n), 0);
  for (int t = 1; t <= T; ++t) {
    for (int j = 0; j < n; ++j) {
      double c = 0;
      for (int i = 0; i < m; ++i)
        if (x[static_cast<std::size_t>(i) * (T + 1) + t])
          c += W[static_cast<std::size_t>(j) * m + i];
      cur[j] = c;
    }
    lif_integrate(lp, s, t, cur.data(), 1);
    if (trace)
      for (int j = 0; j < n; ++j) trace[static_cast<std::size_t>(j) * T + t - 1] = s.P[j];
    const int ns = lif_fire(lp, s, t, th, forced, spikes.data(), theta);
    for (int q = 0; q < ns; ++q) ++fired[spikes[q]];
    if (learn)
      for (int q = 0; q < ns; ++q)
        stdp_update_ref(sp, &W[static_cast<std::size_t>(spikes[q]) * m], x, m, T, t);
  }
  const std::vector<int> rows = learn ? learning_rows(lp, s, fired, forced) : std::vector<int>();
  for (const int j : rows)
    for (int i = 0; i < m; ++i) {
      bool any = false;
      for (int k = 0; k <= T; ++k) any = any || x[static_cast<std::size_t>(i) * (T + 1) + k];
      double& w = W[static_cast<std::size_t>(j) * m + i];
      if (!any) w = w - penalty < sp.w_min ? sp.w_min : w - penalty;
    }
  for (const int j : normalise > 0 ? rows : std::vector<int>()) {
    double* w = &W[static_cast<std::size_t>(j) * m];
    double have = 0;
    for (int i = 0; i < m; ++i) have += l2 ? w[i] * w[i] : w[i];
    if (l2) have = std::sqrt(have);
    const double target = l2 ? normalise * std::sqrt(static_cast<double>(m)) : normalise * m;
    if (have > 0)
      for (int i = 0; i < m; ++i) {
        const double v = w[i] * (target / have);
        w[i] = v < sp.w_min ? sp.w_min : (v > sp.w_max ? sp.w_max : v);
      }
  }
  return sample_winner(lp, s, fired, forced);
}

}  // namespace supsnn
