#include "guide/stdp_guide.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <tuple>

#include "common/error.hpp"
#include "common/rng.hpp"
#include "config/config.hpp"
#include "data/sampler.hpp"
#include "kernels/encode_events.hpp"

namespace supsnn {

namespace {

using HExec = Kokkos::DefaultHostExecutionSpace;
using HIndex = GIndex<HExec>;
constexpr std::uint64_t kStreamGuideInit = 0x91de1;     // weight initialisation
constexpr std::uint64_t kStreamGuidePoisson = 0x91de2;  // fixed Poisson draw of image spikes

HIndex index_view(const std::vector<int>& v, std::size_t first, std::size_t count) {
  return HIndex(v.data() + first, count);  // unmanaged view of host memory
}

// Encodes the images of a split into stored-event form (per sample sorted by (step, neuron)).
SpikeEvents encode_split(const Split& s, const GuideParams& p) {
  const SpikeCodeParams sc =
      spike_code_params(p.data, p.raw_steps, hash3(p.seed, kStreamGuidePoisson, 0));
  const int H = s.height, W = s.width, T1 = p.raw_steps + 1, B = 64;
  const std::size_t hw = static_cast<std::size_t>(H) * W;
  SpikeEvents out;
  EventEncoder enc;
  EventBatch ev;
  View3<std::uint8_t> img("guide::img", B, H, W);
  View1<std::int64_t> ids("guide::ids", B);
  auto h_img = Kokkos::create_mirror_view(img);
  auto h_ids = Kokkos::create_mirror_view(ids);
  for (int b0 = 0; b0 < s.count; b0 += B) {
    const int nb = std::min(B, s.count - b0);
    std::copy(s.images.begin() + static_cast<std::ptrdiff_t>(b0 * hw),
              s.images.begin() + static_cast<std::ptrdiff_t>((b0 + nb) * hw), h_img.data());
    for (int b = 0; b < nb; ++b) h_ids(b) = b0 + b;
    Kokkos::deep_copy(img, h_img);
    Kokkos::deep_copy(ids, h_ids);
    enc.encode(sc, Kokkos::subview(img, std::make_pair(0, nb), Kokkos::ALL, Kokkos::ALL),
               Kokkos::subview(ids, std::make_pair(0, nb)), ev);
    // The deep copies below fence the encoder's kernels before the host reads the events.
    auto fo = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), ev.fwd_offsets);
    auto fn = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), ev.fwd_neuron);
    for (int b = 0; b < nb; ++b) {
      for (int k = 0; k < T1; ++k)
        for (int e = fo(b * T1 + k); e < fo(b * T1 + k + 1); ++e) {
          out.neuron.push_back(fn(e));
          out.step.push_back(static_cast<std::uint8_t>(k));
        }
      out.offsets.push_back(static_cast<std::int64_t>(out.neuron.size()));
    }
  }
  return out;
}

}  // namespace

GuideParams guide_params(const Config& cfg, bool pipeline) {
  GuideParams p;
  p.epochs = static_cast<int>(cfg.get_int("guide.epochs"));
  p.outputs = static_cast<int>(cfg.get_int("guide.outputs"));
  p.adaptive_threshold = cfg.get_string("guide.threshold") == "adaptive";
  p.threshold_divisor = cfg.get_float("guide.threshold_divisor");
  p.p_th = cfg.get_float("guide.p_th");
  p.lif.leak = cfg.get_float("guide.leak");
  p.lif.t_ref = static_cast<int>(cfg.get_int("guide.t_ref"));
  p.lif.p_rest = cfg.get_float("guide.p_rest");
  p.lif.p_reset = cfg.get_float("guide.p_reset");
  p.lif.p_inhibit = cfg.get_float("guide.p_inhibit");
  p.stdp.a_plus = cfg.get_float("guide.a_plus");
  p.stdp.a_minus = cfg.get_float("guide.a_minus");
  p.stdp.tau_plus = cfg.get_float("guide.tau_plus");
  p.stdp.tau_minus = cfg.get_float("guide.tau_minus");
  p.stdp.window = static_cast<int>(cfg.get_int("guide.window"));
  p.stdp.sigma = cfg.get_float("guide.sigma");
  p.stdp.w_max = cfg.get_float("guide.w_max");
  p.stdp.w_min = cfg.get_float("guide.w_min");
  p.stdp.lower_bound = cfg.get_string("guide.soft_bound") == "lower";
  p.init_low = cfg.get_float("guide.init_low");
  p.init_high = cfg.get_float("guide.init_high");
  p.unused_penalty = cfg.get_float("guide.unused_penalty");
  p.mode = cfg.get_string("guide.mode");
  p.theta_plus = cfg.get_float("guide.theta_plus");
  p.theta_decay = cfg.get_float("guide.theta_decay");
  p.normalise = cfg.get_float("guide.normalise");
  p.normalise_l2 = cfg.get_string("guide.normalise_by") == "l2";
  p.winner_by_potential = cfg.get_string("guide.winner") == "potential";
  p.lif.graded = cfg.get_string("guide.inhibition") == "graded";
  p.lif.inhibit_step = cfg.get_float("guide.inhibit_step");
  if (p.winner_by_potential && p.lif.graded)
    throw Error(
        "config key 'guide.inhibition': \"graded\" lets several neurons spike and learn; "
        "guide.winner = \"potential\" forces one winner per sample (use winner-take-all)");
  if (p.winner_by_potential && p.mode == "teacher")
    throw Error(
        "config key 'guide.mode': \"teacher\" forces the class neuron; guide.winner = "
        "\"potential\" chooses the winner itself (use per-sample or class-mean)");
  p.retries = static_cast<int>(cfg.get_int("guide.retries"));
  p.retry_factor = cfg.get_float("guide.retry_factor");
  p.labels = cfg.get_string("guide.labels");
  p.validation = cfg.get_float("data.validation");
  if (p.labels == "responses" && p.mode == "teacher")
    throw Error(
        "config key 'guide.mode': \"teacher\" forces one neuron per class; it needs "
        "guide.labels = \"one-per-class\"");
  p.seed = static_cast<std::uint64_t>(cfg.get_int("guide.seed"));
  if (p.seed == 0) p.seed = static_cast<std::uint64_t>(cfg.get_int("train.seed"));
  p.holdout_seed = p.seed;
  // guide.encoder: the stage's own spike code, or data.encoder's ("data"). With its own code the
  // supervised stage may use another one (data.population, direct input) on the same chips.
  const std::string own = cfg.get_string("guide.encoder");
  p.encoder = own == "data" ? cfg.get_string("data.encoder") : own;
  p.data = data_options(cfg);
  if (own != "data") {
    p.data.code = own == "poisson"   ? SpikeCode::Poisson
                  : own == "latency" ? SpikeCode::Latency
                                     : SpikeCode::Rate;
    p.data.direct = false;
    p.data.population.neurons = 1;
    p.data.receptive_field = true;  // the seed's code; data.receptive_field is the other stage's
  }
  if (p.data.direct)
    throw Error(
        "config key 'data.encoder': \"direct\" has no spikes; supsnn guide needs a spike code "
        "(rate, poisson or latency; or set guide.encoder)");
  // The STDP stage encodes whole chips, one input neuron per pixel.
  const AugmentOptions& a = p.data.augment;
  const bool augmented = a.crop > 0 || a.flip || a.speckle > 0 || a.max_shift > 0 || a.pool > 1 ||
                         a.rotate > 0 || a.scale > 0;
  if (p.data.population.neurons > 1)
    throw Error(
        "config key 'data.population': the STDP guidance stage reads one input neuron per pixel "
        "(data.encoder, data.raw_steps, data.receptive_field); keep data.population at 1 or give "
        "the stage its own code with guide.encoder");
  if (augmented && !pipeline)
    throw Error(
        "supsnn guide encodes whole chips with data.encoder, data.raw_steps and "
        "data.receptive_field; data.crop, data.max_shift, data.pool, data.flip, data.speckle, "
        "data.rotate and data.scale must keep their defaults");
  p.raw_steps = static_cast<int>(cfg.get_int("data.raw_steps"));
  if (p.stdp.w_min > p.stdp.w_max)
    throw Error("config key 'guide.w_min': " + std::to_string(p.stdp.w_min) +
                " is above guide.w_max");
  if (p.init_low > p.init_high) throw Error("config key 'guide.init_low': above guide.init_high");
  return p;
}

GuideSpikes guide_spikes(const SpikeEvents& ev, int inputs, int raw_steps) {
  GuideSpikes g;
  const int N = static_cast<int>(ev.samples()), T = raw_steps, T2 = T + 2;
  g.count = N;
  g.inputs = inputs;
  g.raw_steps = T;
  g.neuron.assign(ev.neuron.begin(), ev.neuron.end());
  g.step_off.assign(static_cast<std::size_t>(N) * T2, 0);
  g.act_first.assign(1, 0);
  g.act_off.assign(1, 0);
  g.threshold_count.assign(static_cast<std::size_t>(N), 0);
  std::vector<int> cnt(static_cast<std::size_t>(inputs), 0), pos(static_cast<std::size_t>(inputs));
  for (int b = 0; b < N; ++b) {
    const std::int64_t e0 = ev.offsets[b], e1 = ev.offsets[b + 1];
    int* off = &g.step_off[static_cast<std::size_t>(b) * T2];
    // Step offsets: events are sorted by step, so a count per step then a scan.
    std::vector<int> per_step(static_cast<std::size_t>(T + 1), 0);
    for (std::int64_t e = e0; e < e1; ++e) {
      if (e > e0 && (ev.step[e] < ev.step[e - 1] ||
                     (ev.step[e] == ev.step[e - 1] && ev.neuron[e] <= ev.neuron[e - 1])))
        throw Error("guide: spike events of sample " + std::to_string(b) +
                    " are not sorted by (step, neuron)");
      ++per_step[ev.step[e]];
      ++cnt[ev.neuron[e]];
    }
    off[0] = static_cast<int>(e0);
    for (int k = 0; k <= T; ++k) {
      off[k + 1] = off[k] + per_step[k];
      g.threshold_count[b] = std::max(g.threshold_count[b], static_cast<double>(per_step[k]));
    }
    // Input-major lists: active inputs in increasing order, their steps increasing (a stable
    // counting sort of the step-ordered events).
    const int a0 = static_cast<int>(g.act_neuron.size());
    for (std::int64_t e = e0; e < e1; ++e) {
      const int i = ev.neuron[e];
      if (cnt[i] > 0) {
        g.act_neuron.push_back(i);
        cnt[i] = -cnt[i];  // mark as listed
      }
    }
    std::sort(g.act_neuron.begin() + a0, g.act_neuron.end());
    const int base = static_cast<int>(g.act_step.size());
    int at = base;
    for (std::size_t a = static_cast<std::size_t>(a0); a < g.act_neuron.size(); ++a) {
      const int i = g.act_neuron[a];
      pos[i] = at;
      at += -cnt[i];
      g.act_off.push_back(at);
      cnt[i] = 0;
    }
    g.act_step.resize(static_cast<std::size_t>(at));
    for (std::int64_t e = e0; e < e1; ++e) g.act_step[pos[ev.neuron[e]]++] = ev.step[e];
    g.act_first.push_back(static_cast<int>(g.act_neuron.size()));
  }
  return g;
}

struct StdpGuide::Views {
  GWeights<HExec> W;  // n x m, input-major
  GView2<HExec> cur;  // (T + 1) x n: the input current of every step
  Kokkos::View<std::uint8_t*, HExec::memory_space> spiked;
  LifState state;
  std::vector<int> spikes;
};

StdpGuide::StdpGuide(const GuideParams& p, int outputs, int inputs, int raw_steps)
    : p_(p),
      n_(outputs),
      m_(inputs),
      T_(raw_steps),
      v_(std::make_shared<Views>()),
      theta_(static_cast<std::size_t>(outputs), 0.0),
      fired_(static_cast<std::size_t>(outputs), 0) {
  v_->W = GWeights<HExec>("guide::W", n_, m_);
  v_->cur = GView2<HExec>("guide::cur", T_ + 1, n_);
  v_->spiked = Kokkos::View<std::uint8_t*, HExec::memory_space>("guide::spiked", m_);
  v_->spikes.resize(static_cast<std::size_t>(n_));
  for (int j = 0; j < n_; ++j)
    for (int i = 0; i < m_; ++i)
      v_->W(j, i) = p_.init_low + (p_.init_high - p_.init_low) *
                                      uniform01(p_.seed, kStreamGuideInit,
                                                static_cast<std::uint64_t>(j) * m_ + i);
}

std::vector<double> StdpGuide::weights() const {
  std::vector<double> w(static_cast<std::size_t>(n_) * m_);
  for (int j = 0; j < n_; ++j)
    for (int i = 0; i < m_; ++i) w[static_cast<std::size_t>(j) * m_ + i] = v_->W(j, i);
  return w;
}

void StdpGuide::set_weights(const std::vector<double>& w) {
  for (int j = 0; j < n_; ++j)
    for (int i = 0; i < m_; ++i) v_->W(j, i) = w[static_cast<std::size_t>(j) * m_ + i];
  cur_sp_ = nullptr;
}

// guide.winner = "potential": the sample runs once without thresholds (no spikes, no
// inhibition, nothing learnt) and the neuron with the largest mean potential over the
// presentation, less its threshold offset, is the winner (-1 for a sample without input spikes).
int StdpGuide::potential_winner(const GuideSpikes& sp, int b) {
  if (!(sp.threshold_count[b] > 0)) return -1;
  free_.resize(static_cast<std::size_t>(n_) * T_);
  attempt(sp, b, HUGE_VAL, false, -1, free_.data());
  int best = -1;
  double best_score = 0;
  for (int j = 0; j < n_; ++j) {
    double sum = 0;
    for (int t = 0; t < T_; ++t) sum += free_[static_cast<std::size_t>(j) * T_ + t];
    const double score = sum / T_ - theta_[j];
    if (best < 0 || score > best_score) best = j, best_score = score;
  }
  return best;
}

int StdpGuide::run_sample(const GuideSpikes& sp, int b, bool learn, int forced, double* trace) {
  // An image without input spikes has no adaptive threshold: it never crosses (no winner).
  double th = !p_.adaptive_threshold      ? p_.p_th
              : sp.threshold_count[b] > 0 ? sp.threshold_count[b] / p_.threshold_divisor
                                          : HUGE_VAL;
  // guide.winner = "potential": the winner is chosen on the whole presentation, then the sample
  // runs (and learns) with that winner forced, as in teacher mode.
  const int chosen = p_.winner_by_potential && forced < 0 ? potential_winner(sp, b) : -1;
  if (chosen >= 0) forced = chosen;
  // guide.retries: no neuron fired, so nothing was learnt; the sample runs again at a lower
  // threshold (as stronger input would drive it), up to `retries` times.
  int winner = attempt(sp, b, th, learn, forced, trace);
  for (retries_last_ = 0; winner < 0 && retries_last_ < p_.retries && std::isfinite(th);) {
    ++retries_last_;
    th *= p_.retry_factor;
    winner = attempt(sp, b, th, learn, forced, trace);
  }
  if (learn && (p_.theta_plus != 0 || p_.theta_decay != 1))
    homeostasis_update(theta_, fired_, p_.theta_plus, p_.theta_decay);
  return p_.winner_by_potential ? chosen : winner;
}

int StdpGuide::attempt(const GuideSpikes& sp, int b, double th, bool learn, int forced,
                       double* trace) {
  const HExec exec;
  const int T = T_, T2 = T + 2;
  Views& v = *v_;
  const HIndex off = index_view(sp.step_off, static_cast<std::size_t>(b) * T2, T2);
  const HIndex neuron = index_view(sp.neuron, 0, sp.neuron.size());
  const int a0 = sp.act_first[b], A = sp.act_first[b + 1] - a0;
  const HIndex act_neuron = index_view(sp.act_neuron, a0, A);
  const HIndex act_off = index_view(sp.act_off, a0, A + 1);
  const HIndex act_step = index_view(sp.act_step, 0, sp.act_step.size());
  if (cur_sp_ != &sp || cur_b_ != b) {
    step_currents(exec, v.W, off, neuron, 0, n_, 1, T, v.cur);
    exec.fence();  // the step loop reads the currents on the host
    cur_sp_ = &sp;
    cur_b_ = b;
  }
  LifState& s = v.state;
  s.reset(n_, p_.lif.p_rest);
  fired_.assign(static_cast<std::size_t>(n_), 0);
  for (int t = 1; t <= T; ++t) {
    lif_integrate(p_.lif, s, t, &v.cur(t, 0), 1);
    if (trace)
      for (int j = 0; j < n_; ++j) trace[static_cast<std::size_t>(j) * T + t - 1] = s.P[j];
    const int ns = lif_fire(p_.lif, s, t, th, forced, v.spikes.data(), theta_.data());
    for (int q = 0; q < ns; ++q) ++fired_[v.spikes[q]];
    if (!learn) continue;
    if (ns > 0) cur_sp_ = nullptr;  // W changes: the currents of steps <= t are stale from here
    for (int q = 0; q < ns; ++q) {
      const int j = v.spikes[q];
      stdp_update(exec, v.W, j, t, act_neuron, act_off, act_step, A, p_.stdp);
      // Row j changed: its currents of the later steps are recomputed (same instance: in order).
      step_currents(exec, v.W, off, neuron, j, j + 1, t + 1, T, v.cur);
    }
    if (ns > 0) exec.fence();  // the next steps read the recomputed currents on the host
  }
  const std::vector<int> rows =
      learn ? learning_rows(p_.lif, s, fired_, forced) : std::vector<int>();
  if (!rows.empty()) cur_sp_ = nullptr;  // the penalty and the normalisation change W
  if (!rows.empty() && p_.unused_penalty != 0) {
    for (int a = 0; a < A; ++a) v.spiked(act_neuron(a)) = 1;
    for (const int j : rows)
      unused_penalty(exec, v.W, j, decltype(v.spiked)::const_type(v.spiked), p_.unused_penalty,
                     p_.stdp.w_min);
    exec.fence();  // the host clears the marks (and later reads W)
    for (int a = 0; a < A; ++a) v.spiked(act_neuron(a)) = 0;
  }
  if (p_.normalise > 0)
    for (const int j : rows)
      normalise_row(
          exec, v.W, j,
          p_.normalise_l2 ? p_.normalise * std::sqrt(static_cast<double>(m_)) : p_.normalise * m_,
          p_.normalise_l2, p_.stdp.w_min, p_.stdp.w_max);
  return sample_winner(p_.lif, s, fired_, forced);
}

std::vector<int> assign_classes(const std::vector<long>& counts, int classes, int n) {
  if (n < classes)
    throw Error("guide: " + std::to_string(n) + " output neurons for " + std::to_string(classes) +
                " classes (guide.outputs must be 0 or >= the number of classes)");
  std::vector<int> assign(static_cast<std::size_t>(classes), -1);
  std::vector<char> used(static_cast<std::size_t>(n), 0);
  for (int round = 0; round < classes; ++round) {
    int bc = -1, bj = -1;
    long best = 0;
    for (int c = 0; c < classes; ++c) {
      if (assign[c] >= 0) continue;
      for (int j = 0; j < n; ++j)
        if (!used[j] && counts[static_cast<std::size_t>(c) * n + j] > best) {
          best = counts[static_cast<std::size_t>(c) * n + j];
          bc = c;
          bj = j;
        }
    }
    if (bc < 0) break;  // no free class has won samples on a free neuron
    assign[bc] = bj;
    used[bj] = 1;
  }
  for (int c = 0; c < classes; ++c)
    if (assign[c] < 0)
      for (int j = 0; j < n; ++j)
        if (!used[j]) {
          assign[c] = j;
          used[j] = 1;
          break;
        }
  return assign;
}

std::vector<int> label_neurons(const std::vector<long>& counts, const std::vector<long>& class_size,
                               int classes, int n) {
  std::vector<int> label(static_cast<std::size_t>(n), -1);
  for (int j = 0; j < n; ++j) {
    double best = 0;
    for (int c = 0; c < classes; ++c) {
      if (class_size[c] == 0) continue;
      const double rate = static_cast<double>(counts[static_cast<std::size_t>(c) * n + j]) /
                          static_cast<double>(class_size[c]);
      if (rate > best) best = rate, label[j] = c;
    }
  }
  return label;
}

GuideResult run_guide(const GuideParams& p, DatasetFile& ds, const GuideLog& log) {
  const auto t0 = std::chrono::steady_clock::now();
  auto say = [&](const std::string& s) {
    if (log) log(s);
  };
  const int C = static_cast<int>(ds.class_names.size());
  const int n = p.outputs > 0 ? p.outputs : C;
  Split* train = nullptr;
  for (auto& s : ds.splits)
    if (s.name == "train") train = &s;
  if (!train || train->count == 0)
    throw Error("guide: the dataset has no (or an empty) train split");
  const int m = train->inputs();
  const bool images = ds.kind == "images";
  const int T = images ? p.raw_steps : train->raw_steps;
  std::vector<GuideSpikes> spikes;
  for (auto& s : ds.splits) {
    if (s.inputs() != m)
      throw Error("guide: split '" + s.name + "' has " + std::to_string(s.height) + " x " +
                  std::to_string(s.width) + " inputs, the train split " +
                  std::to_string(train->height) + " x " + std::to_string(train->width));
    if (!images && s.raw_steps != T)
      throw Error("guide: split '" + s.name + "' has raw_steps " + std::to_string(s.raw_steps) +
                  ", the train split " + std::to_string(T));
    spikes.push_back(guide_spikes(images ? encode_split(s, p) : s.events, m, T));
  }
  const std::size_t it = static_cast<std::size_t>(train - ds.splits.data());
  const GuideSpikes& tsp = spikes[it];
  {
    double th = 0;
    for (double c : tsp.threshold_count) th += c;
    char buf[200];
    std::snprintf(buf, sizeof buf,
                  "guide: train split: %d samples, %.1f input spikes per sample, mean max spikes "
                  "per step %.1f",
                  tsp.count, static_cast<double>(tsp.neuron.size()) / tsp.count, th / tsp.count);
    say(buf);
  }

  // data.validation: a stratified part of the train split is held out; STDP and the labelling
  // of the output neurons see only the rest, the held-out part is reported as "validation".
  std::vector<int> fit(static_cast<std::size_t>(train->count)), held;
  for (int q = 0; q < train->count; ++q) fit[q] = q;
  if (p.validation > 0)
    std::tie(fit, held) = stratified_holdout(train->labels, C, p.validation, p.holdout_seed);
  StdpGuide g(p, n, m, T);
  std::vector<int> order;
  for (int q : shuffled_indices(static_cast<int>(fit.size()), p.seed, 0)) order.push_back(fit[q]);
  for (int e = 0; e < p.epochs; ++e) {
    std::vector<long> won(static_cast<std::size_t>(n) + 1, 0);
    long retried = 0;
    for (int b : order) {
      ++won[static_cast<std::size_t>(g.run_sample(tsp, b, true, -1, nullptr) + 1)];
      retried += g.retries_last() > 0;
    }
    std::string line =
        "guide: epoch " + std::to_string(e + 1) + "/" + std::to_string(p.epochs) + ": winners";
    for (int j = 0; j < n && j < 40; ++j) line += " " + std::to_string(won[j + 1]);
    if (n > 40) line += " ...";
    line += ", none " + std::to_string(won[0]);
    if (p.retries > 0) line += ", retried " + std::to_string(retried);
    say(line);
  }

  // Recording pass, weights and thresholds frozen: natural winners and traces of every split.
  const std::size_t nT = static_cast<std::size_t>(n) * T;
  std::vector<std::vector<double>> traces(ds.splits.size());
  std::vector<std::vector<int>> winners(ds.splits.size());
  for (std::size_t si = 0; si < ds.splits.size(); ++si) {
    const Split& s = ds.splits[si];
    traces[si].assign(static_cast<std::size_t>(s.count) * nT, 0);
    winners[si].resize(static_cast<std::size_t>(s.count));
    for (int b = 0; b < s.count; ++b)
      winners[si][b] = g.run_sample(spikes[si], b, false, -1, &traces[si][b * nT]);
  }
  std::vector<long> counts(static_cast<std::size_t>(C) * n, 0), class_size(C, 0);
  for (int b : fit) {
    ++class_size[train->labels[b]];
    if (winners[it][b] >= 0)
      ++counts[static_cast<std::size_t>(train->labels[b]) * n + winners[it][b]];
  }
  GuideResult r;
  r.outputs = n;
  r.label.assign(static_cast<std::size_t>(n), -1);
  const bool by_responses = p.labels == "responses";
  if (by_responses) {
    r.label = label_neurons(counts, class_size, C, n);
    r.assignment.assign(static_cast<std::size_t>(C), -1);
    for (int c = 0; c < C; ++c) {  // the neuron most selective for c, preferring c's own
      double best = -1;
      for (int j = 0; j < n; ++j) {
        const double rate =
            class_size[c] ? static_cast<double>(counts[c * n + j]) / class_size[c] : 0.0;
        const double key = rate + (r.label[j] == c ? 2.0 : 0.0);
        if (key > best) best = key, r.assignment[c] = j;
      }
    }
  } else {
    r.assignment = assign_classes(counts, C, n);
    for (int c = 0; c < C; ++c) r.label[r.assignment[c]] = c;
    r.row_neuron = r.assignment;
    for (int j = 0; j < n; ++j)
      if (std::find(r.assignment.begin(), r.assignment.end(), j) == r.assignment.end())
        r.row_neuron.push_back(j);
  }
  auto predicted = [&](int winner) { return winner >= 0 ? r.label[winner] : -1; };
  r.test_accuracy = std::nan("");
  auto part = [&](const std::string& name, std::size_t si, const std::vector<int>& idx) {
    GuideResult::Part pt;
    pt.name = name;
    pt.confusion.assign(static_cast<std::size_t>(C) * (C + 1), 0);
    for (int b : idx) {
      const int truth = ds.splits[si].labels[b], pred = predicted(winners[si][b]);
      ++pt.samples;
      pt.unwon += pred < 0;
      pt.correct += pred == truth;
      ++pt.confusion[static_cast<std::size_t>(truth) * (C + 1) + (pred < 0 ? C : pred)];
    }
    const double acc = pt.samples ? static_cast<double>(pt.correct) / pt.samples : std::nan("");
    if (name == "train") r.train_accuracy = acc;
    if (name == "validation") r.validation_accuracy = acc;
    if (name == "test") r.test_accuracy = acc;
    r.parts.push_back(std::move(pt));
  };
  part("train", it, fit);
  if (!held.empty()) part("validation", it, held);
  for (std::size_t si = 0; si < ds.splits.size(); ++si)
    if (ds.splits[si].name == "test") {
      std::vector<int> all(static_cast<std::size_t>(ds.splits[si].count));
      for (int q = 0; q < ds.splits[si].count; ++q) all[q] = q;
      part("test", si, all);
    }
  r.train_winner = winners[it];
  for (std::size_t si = 0; si < ds.splits.size(); ++si)
    if (ds.splits[si].name == "test") r.test_winner = winners[si];

  // Guidance rows. one-per-class: row r = neuron row_neuron[r] (n rows). responses: row c = the
  // trace of the class-c neuron (label c, or the class's assignment when it has none) with the
  // largest summed potential in this sample (C rows).
  const int rows = guidance_rows(p, C);
  const std::size_t rT = static_cast<std::size_t>(rows) * T;
  std::vector<std::vector<int>> members(static_cast<std::size_t>(C));
  for (int j = 0; j < n; ++j)
    if (r.label[j] >= 0) members[r.label[j]].push_back(j);
  for (int c = 0; c < C; ++c)
    if (members[c].empty()) members[c].push_back(r.assignment[c]);
  auto permuted = [&](const double* tr, double* out) {
    for (int row = 0; row < rows; ++row) {
      int j = by_responses ? members[row][0] : r.row_neuron[row];
      if (by_responses) {
        double best = -HUGE_VAL;
        for (int k : members[row]) {
          double sum = 0;
          for (int t = 0; t < T; ++t) sum += tr[static_cast<std::size_t>(k) * T + t];
          if (sum > best) best = sum, j = k;
        }
      }
      std::copy(tr + static_cast<std::size_t>(j) * T, tr + static_cast<std::size_t>(j + 1) * T,
                out + static_cast<std::size_t>(row) * T);
    }
  };
  std::vector<double> class_mean;
  if (p.mode == "class-mean") {
    class_mean.assign(static_cast<std::size_t>(C) * rT, 0);
    std::vector<double> tmp(rT);
    for (int c = 0; c < C; ++c) {
      for (int pass = 0; pass < 2; ++pass) {  // pass 0: correctly won samples; 1: all of the class
        long used = 0;
        for (int b : fit) {
          if (train->labels[b] != c || (pass == 0 && predicted(winners[it][b]) != c)) continue;
          permuted(&traces[it][b * nT], tmp.data());
          for (std::size_t q = 0; q < rT; ++q) class_mean[c * rT + q] += tmp[q];
          ++used;
        }
        if (used > 0) {
          for (std::size_t q = 0; q < rT; ++q) class_mean[c * rT + q] /= static_cast<double>(used);
          break;
        }
        if (pass == 0)
          say("guide: warning: no training sample of class " + ds.class_names[c] +
              " is won by its neuron; its class-mean guidance averages all its samples");
      }
    }
  }
  for (std::size_t si = 0; si < ds.splits.size(); ++si) {
    Split& s = ds.splits[si];
    s.raw_steps = T;
    s.guide_rows = rows;
    s.guidance.assign(static_cast<std::size_t>(s.count) * rT, 0);
    std::vector<double> tmp(nT);
    for (int b = 0; b < s.count; ++b) {
      double* out = &s.guidance[b * rT];
      if (p.mode == "class-mean") {
        std::copy(&class_mean[s.labels[b] * rT], &class_mean[s.labels[b] * rT] + rT, out);
      } else if (p.mode == "teacher") {
        g.run_sample(spikes[si], b, false, r.assignment[s.labels[b]], tmp.data());
        permuted(tmp.data(), out);
      } else {
        permuted(&traces[si][b * nT], out);
      }
    }
  }
  r.weights = g.weights();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

std::string guide_accuracy_line(const GuideResult& r, const GuideParams& p) {
  char buf[200];
  std::string line = "guide accuracy: train ";
  std::snprintf(buf, sizeof buf, "%.4f", r.train_accuracy);
  line += buf;
  if (!std::isnan(r.validation_accuracy)) {
    std::snprintf(buf, sizeof buf, ", validation %.4f", r.validation_accuracy);
    line += buf;
  }
  if (!std::isnan(r.test_accuracy)) {
    std::snprintf(buf, sizeof buf, ", test %.4f", r.test_accuracy);
    line += buf;
  }
  std::snprintf(buf, sizeof buf, " (%d outputs, mode %s, %.1f s)", r.outputs, p.mode.c_str(),
                r.seconds);
  return line + buf;
}

}  // namespace supsnn
