#include "bench/train_bench.hpp"

#include "bench/product_bench.hpp"

#include <fmt/format.h>
#include <Kokkos_Core.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <type_traits>

#include "common/error.hpp"
#include "common/rng.hpp"
#include "config/config.hpp"
#include "config/layers.hpp"
#include "data/batch.hpp"
#include "data/data_options.hpp"
#include "data/dataset.hpp"
#include "data/synth.hpp"
#include "data/template_guidance.hpp"
#include "dist/comm.hpp"
#include "kernels/encode_events.hpp"
#include "model/deep_snn.hpp"
#include "model/layered_snn.hpp"
#include "model/seed_bilayer.hpp"
#include "train/optimizer.hpp"

namespace supsnn {

namespace {

using Clock = std::chrono::steady_clock;

// Bytes held in Kokkos allocations (every memory space) and their peak, through the Kokkos
// tools allocation callbacks, so the figure is the same on the host and on a GPU.
struct MemoryTracker {
  static inline std::int64_t current = 0, peak = 0;
  static void on_alloc(Kokkos::Profiling::SpaceHandle, const char*, const void*, std::uint64_t n) {
    current += static_cast<std::int64_t>(n);
    peak = std::max(peak, current);
  }
  static void on_free(Kokkos::Profiling::SpaceHandle, const char*, const void*, std::uint64_t n) {
    current -= static_cast<std::int64_t>(n);
  }
  static void install() {
    Kokkos::Tools::Experimental::set_allocate_data_callback(on_alloc);
    Kokkos::Tools::Experimental::set_deallocate_data_callback(on_free);
  }
  static void uninstall() {
    Kokkos::Tools::Experimental::set_allocate_data_callback(nullptr);
    Kokkos::Tools::Experimental::set_deallocate_data_callback(nullptr);
  }
};

struct Phases {
  double encode = 0, forward = 0, backward = 0, reduce = 0, optimiser = 0;
  double total() const { return encode + forward + backward + reduce + optimiser; }
  // The training step proper, on inputs already encoded (what the PyTorch baseline's loop times).
  double step() const { return forward + backward + reduce + optimiser; }
};

// Seconds of f() including a fence, so asynchronous (GPU) kernels are charged to their phase.
template <class F>
double timed(F&& f) {
  const auto t0 = Clock::now();
  f();
  Kokkos::fence();
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

struct CaseResult {
  double samples_per_s = 0, step_samples_per_s = 0, density = 0, bytes_per_sample = 0;
  bool dense = false;  // the input path the model chose for the last batch
  long samples = 0;
  Phases ph;
};

// One batch of inputs and targets on the device: images are encoded by the rate code of the
// seed (EventEncoder), spike datasets are gathered into events (BatchBuilder). Both are charged
// to the "encode" phase, host assembly and upload included.
template <class Real>
class BatchMaker {
 public:
  BatchMaker(const Split& s, int B, int n) : s_(s), B_(B), n_(n) {
    const int T = s.raw_steps;
    if (s.has_images()) {
      img_ = View3<std::uint8_t>("bench_img", B, s.height, s.width);
      ids_ = View1<std::int64_t>("bench_ids", B);
      guidance_ = View3<Real>("bench_guidance", B, n, T + 1);
      labels_ = View1<int>("bench_labels", B);
    }
  }
  void make(long first) {
    std::vector<int> idx(B_);
    for (int b = 0; b < B_; ++b) idx[b] = static_cast<int>((first + b) % s_.count);
    if (!s_.has_images()) {
      builder_.build(s_, idx);
      return;
    }
    const int H = s_.height, W = s_.width, T = s_.raw_steps;
    auto h_img = Kokkos::create_mirror_view(img_);
    auto h_ids = Kokkos::create_mirror_view(ids_);
    auto h_g = Kokkos::create_mirror_view(guidance_);
    auto h_l = Kokkos::create_mirror_view(labels_);
    for (int b = 0; b < B_; ++b) {
      const int i = idx[b];
      std::copy_n(s_.images.begin() + static_cast<std::size_t>(i) * H * W, H * W, &h_img(b, 0, 0));
      h_ids(b) = i;
      h_l(b) = s_.labels[i];
      const auto g = template_guidance(s_.labels[i], n_, T);
      for (int j = 0; j < n_; ++j)
        for (int k = 0; k <= T; ++k) h_g(b, j, k) = static_cast<Real>(g[j * (T + 1) + k]);
    }
    Kokkos::deep_copy(img_, h_img);
    Kokkos::deep_copy(ids_, h_ids);
    Kokkos::deep_copy(guidance_, h_g);
    Kokkos::deep_copy(labels_, h_l);
    // The default data.* settings (the seed's rate code), as `supsnn train` builds them.
    const SpikeCodeParams code = spike_code_params(data_options(Config()), T, 0);
    enc_.encode(code, img_, ids_, ev_);
  }
  const EventBatch& events() const { return s_.has_images() ? ev_ : builder_.events(); }
  const EventBatch& input() const { return events(); }  // what the model's forward() reads
  long events_in_batch() const {
    int total = 0;
    const EventBatch& ev = events();
    Kokkos::deep_copy(total, Kokkos::subview(ev.fwd_offsets, B_ * (s_.raw_steps + 1)));
    return total;
  }
  View3<const Real> guidance() const {
    return s_.has_images() ? View3<const Real>(guidance_) : builder_.guidance_raw();
  }
  View1<const int> labels() const {
    return s_.has_images() ? View1<const int>(labels_) : builder_.labels();
  }

 private:
  const Split& s_;
  int B_, n_;
  View3<std::uint8_t> img_;
  View1<std::int64_t> ids_;
  View3<Real> guidance_;
  View1<int> labels_;
  EventEncoder enc_;
  EventBatch ev_;
  BatchBuilder<Real> builder_;
};

// Direct-coded batches of a layered network: the split's images (crop of the top-left corner
// when larger than the network's input), pixel / 255, through BatchBuilder::build_images as the
// trainer builds them; no guidance (cross-entropy).
template <class Real>
class DirectMaker {
 public:
  DirectMaker(const Split& s, int B, int H, int W) : s_(s), B_(B), H_(H), W_(W) {
    img_ = View3<std::uint8_t>("bench_img", B, H, W);
    labels_ = View1<int>("bench_labels", B);
    ids_ = View1<std::int64_t>("bench_ids", B);
  }
  void make(long first) {
    auto h_img = Kokkos::create_mirror_view(img_);
    auto h_l = Kokkos::create_mirror_view(labels_);
    auto h_id = Kokkos::create_mirror_view(ids_);
    for (int b = 0; b < B_; ++b) {
      const int i = static_cast<int>((first + b) % s_.count);
      h_id(b) = i;
      for (int y = 0; y < H_; ++y)
        for (int x = 0; x < W_; ++x)
          h_img(b, y, x) = s_.images[(static_cast<std::size_t>(i) * s_.height + y) * s_.width + x];
      h_l(b) = s_.labels[i] % 2;
    }
    Kokkos::deep_copy(img_, h_img);
    Kokkos::deep_copy(labels_, h_l);
    Kokkos::deep_copy(ids_, h_id);
    builder_.build_images(img_, B_);
    // A training pass, as the trainer's: batch statistics in norm layers, dropout on.
    builder_.set_pass(true, static_cast<std::uint64_t>(first), ids_);
  }
  const BatchBuilder<Real>& input() const { return builder_; }
  View3<const Real> guidance() const { return {}; }
  View1<const int> labels() const { return labels_; }
  long events_in_batch() const { return 0; }

 private:
  const Split& s_;
  int B_, H_, W_;
  View3<std::uint8_t> img_;
  View1<int> labels_;
  View1<std::int64_t> ids_;
  BatchBuilder<Real> builder_;
};

template <class Real, class Model, class Maker>
CaseResult run_case(Model& model, Maker& maker, const Split& s, int B, const Comm& comm,
                    double seconds, const LossParams& lp) {
  const int T = s.raw_steps;
  Adam<Real> adam(model.params().extent(0), AdamParams{});
  auto grads_host = Kokkos::create_mirror_view(model.grads());
  CaseResult r;
  double events = 0;
  long next = static_cast<long>(comm.rank()) * B;
  MemoryTracker::current = MemoryTracker::peak = 0;
  auto step = [&](bool timed_step) {
    Phases ph;
    ph.encode = timed([&] {
      maker.make(next);
      next += static_cast<long>(B) * comm.size();
    });
    const auto& in = maker.input();
    ph.forward = timed([&] { model.forward(in); });
    ph.backward = timed([&] {
      model.loss_device(maker.guidance(), maker.labels(), lp, Real(1) / (B * comm.size()));
      model.backward(in);
    });
    // The all-reduce reads host memory: the copy fences the backward kernels first.
    ph.reduce = timed([&] {
      Kokkos::deep_copy(grads_host, model.grads());
      comm.allreduce_sum(grads_host.data(), grads_host.extent(0));
      Kokkos::deep_copy(model.grads(), grads_host);
    });
    ph.optimiser = timed([&] { adam.step(model.params(), model.grads(), 1e-4); });
    if (!timed_step) return;
    events += static_cast<double>(maker.events_in_batch());
    r.ph.encode += ph.encode;
    r.ph.forward += ph.forward;
    r.ph.backward += ph.backward;
    r.ph.reduce += ph.reduce;
    r.ph.optimiser += ph.optimiser;
    r.samples += B;
  };
  step(false);  // warm-up: views grow to the batch
  // Everything allocated since the model existed: batch inputs, events, activations, optimiser.
  const double peak = static_cast<double>(MemoryTracker::peak);
  // Every rank runs the same number of steps: rank 0's clock decides, broadcast each step.
  const auto t0 = Clock::now();
  for (long go = 1; go;) {
    step(true);
    go = std::chrono::duration<double>(Clock::now() - t0).count() < seconds || r.samples < 3L * B;
    MPI_Bcast(&go, 1, MPI_LONG, 0, comm.raw());
  }
  r.samples_per_s = r.samples * comm.size() / r.ph.total();
  r.step_samples_per_s = r.samples * comm.size() / r.ph.step();
  r.density = events / (static_cast<double>(r.samples) * s.inputs() * (T + 1));
  r.bytes_per_sample = peak / B;
  if constexpr (!std::is_same_v<Model, LayeredSnn<Real>>)
    r.dense = model.input_current().last_dense();
  return r;
}

// The first max_images samples of a dataset's train split.
Split load_split(const std::string& path, int max_images) {
  const SplitReader reader(path, "train");
  const Split& h = reader.header();
  if (h.count == 0) throw Error(path + ": split 'train' is empty");
  std::vector<int> idx;
  for (int i = 0; i < std::min(h.count, max_images); ++i) idx.push_back(i);
  Split s = reader.read(idx);
  if (s.guide_rows == 0) s.guide_rows = static_cast<int>(reader.class_names().size());
  return s;
}

void print_row(const std::string& label, const std::string& name, const std::string& input, int B,
               const CaseResult& r) {
  const Phases& p = r.ph;
  const double t = p.total() / 100;
  std::printf(
      "%-22s %-16s %-12s %5d %7.2f%% %11.0f %11.0f   %5.1f %5.1f %5.1f %5.1f %5.1f %10.1f\n",
      label.c_str(), name.c_str(), input.c_str(), B, 100 * r.density, r.samples_per_s,
      r.step_samples_per_s, p.encode / t, p.forward / t, p.backward / t, p.reduce / t,
      p.optimiser / t, r.bytes_per_sample / 1024);
  std::fflush(stdout);
}

template <class Real>
void bench_split(const TrainBenchOptions& o, const std::string& label, const Split& s,
                 const Comm& comm) {
  if (!s.has_images() && s.guidance.empty())
    throw Error(label + ": a spikes dataset needs guidance traces for the benchmark's loss");
  const int m = s.inputs(), n = s.guide_rows;
  const TimeGrid grid{s.raw_steps, o.steps};
  std::vector<std::vector<int>> models{{}};
  std::vector<int> hidden_sizes;  // --hidden 0: no deep case
  for (int k : o.hidden)
    if (k > 0) hidden_sizes.push_back(k);
  if (!hidden_sizes.empty()) models.push_back(hidden_sizes);
  for (const auto& hidden : models)
    for (const auto& path : o.input_paths)
      for (int B : o.batches) {
        InputPathOptions io;
        io.path = parse_input_path(path);
        CaseResult r;
        std::string name;
        if (hidden.empty()) {
          name = "bilayer " + std::to_string(m) + "-" + std::to_string(n);
          SeedBilayer<Real> model(n, m, grid, Real(0.005));
          model.init_uniform(1, 0.0, 1.0);
          model.set_input_path(io);
          LossParams lp;  // the seed's Huber loss against guidance traces
          BatchMaker<Real> maker(s, B, model.outputs());
          r = run_case<Real>(model, maker, s, B, comm, o.seconds, lp);
        } else {
          std::vector<int> sizes{m};
          name = "deep " + std::to_string(m);
          for (int k : hidden) {
            sizes.push_back(k);
            name += "-" + std::to_string(k);
          }
          sizes.push_back(n);
          name += "-" + std::to_string(n);
          NeuronParams np;
          DeepSnn<Real> model(sizes, grid, np, HiddenParams{});
          model.init_scaled(1, 1.0);
          model.set_input_path(io);
          LossParams lp;
          lp.kind = LossKind::CrossEntropy;
          lp.temperature = 10;
          BatchMaker<Real> maker(s, B, model.outputs());
          r = run_case<Real>(model, maker, s, B, comm, o.seconds, lp);
        }
        if (comm.rank() == 0) print_row(label, name, path + (r.dense ? ">dense" : ">events"), B, r);
      }
}

// The layered network of a config (`--layers FILE`), direct-coded, on the split's images.
template <class Real>
void bench_layered(const TrainBenchOptions& o, const std::string& label, const Split& s,
                   const Comm& comm) {
  const Config cfg = Config::load(o.layers);
  const auto specs = layer_specs(cfg);
  if (specs.empty()) throw Error(o.layers + ": no [[model.layers]] to benchmark");
  const int crop = cfg.get_int("data.crop") > 0 ? static_cast<int>(cfg.get_int("data.crop"))
                                                : std::min(s.height, s.width);
  if (crop > s.height || crop > s.width)
    throw Error(o.layers + ": data.crop = " + std::to_string(crop) + " is larger than the " +
                std::to_string(s.height) + " x " + std::to_string(s.width) + " images");
  const int T = static_cast<int>(cfg.get_int("model.steps"));
  const std::string name = "layered:" + std::filesystem::path(o.layers).stem().string();
  for (const auto& path : o.input_paths)
    for (int B : o.batches) {
      LayeredSnn<Real> model(specs, 1, crop, crop, T, 2);
      model.init_scaled(1, cfg.get_float("model.hidden_init"));
      model.set_allreduce([&comm](double* v, int n) { comm.allreduce_sum(v, n); });
      InputPathOptions io;
      io.path = parse_input_path(path);
      model.set_input_path(io);
      LossParams lp;
      lp.kind = LossKind::CrossEntropy;
      DirectMaker<Real> maker(s, B, crop, crop);
      const CaseResult r = run_case<Real>(model, maker, s, B, comm, o.seconds, lp);
      // The hidden layers' paths in the last step, e (events) or g (gemm), and input densities
      // in percent.
      std::string used;
      for (const auto& u : model.hidden_layers())
        used += fmt::format("{}{}{}", used.empty() ? "" : ",", u.events ? "e" : "g",
                            u.density >= 0 ? fmt::format("{:.1f}", 100 * u.density) : "");
      if (comm.rank() == 0)
        print_row(label, name, "T=" + std::to_string(T) + ":" + path + ">" + used, B, r);
    }
}

}  // namespace

void run_train_bench(const TrainBenchOptions& o) {
  if (o.datasets.empty() && o.densities.empty() && o.layers.empty())
    throw Error("bench --train: give --density P and/or --dataset FILE.h5, or --layers CONFIG");
  if (!o.layers.empty() && !o.densities.empty()) {
    run_product_bench(o);  // --layers with --density: the hidden products alone
    return;
  }
  const Comm comm;
  MemoryTracker::install();
  if (comm.rank() == 0) {
    std::printf("training throughput: %s, %d rank(s), backend %s, time grid %d steps\n",
                o.single ? "float" : "double", comm.size(), ExecSpace::name(), o.steps);
    std::printf(
        "samples/s: whole steps (encode + forward + backward + reduce + optimiser); "
        "step/s: without encode\n");
    std::printf("%-22s %-16s %-12s %5s %8s %11s %11s   %5s %5s %5s %5s %5s %10s\n", "dataset",
                "model", "input", "batch", "density", "samples/s", "step/s", "enc%", "fwd%", "bwd%",
                "red%", "opt%", "KiB/sample");
  }
  auto run = [&](const std::string& label, const Split& s) {
    if (!o.layers.empty() && !s.has_images()) return;  // direct input needs images
    if (!o.layers.empty())
      o.single ? bench_layered<float>(o, label, s, comm) : bench_layered<double>(o, label, s, comm);
    else if (o.single)
      bench_split<float>(o, label, s, comm);
    else
      bench_split<double>(o, label, s, comm);
  };
  if (!o.layers.empty() && o.datasets.empty()) {
    // Random 8-bit images (uniform pixels), like the peers' random inputs in [0, 1).
    const int count = *std::max_element(o.batches.begin(), o.batches.end()) * comm.size();
    Split s;
    s.name = "train";
    s.count = count;
    s.height = s.width = 128;
    for (int q = 0; q < count * 128 * 128; ++q)
      s.images.push_back(static_cast<std::uint8_t>(256 * uniform01(1, 99, q)));
    s.labels.assign(count, 0);
    for (int b = 0; b < count; ++b) s.labels[b] = b % 2;
    s.raw_steps = 70;
    run("random-images", s);
  }
  for (double p : o.layers.empty() ? o.densities : std::vector<double>{}) {
    // Independent Bernoulli spikes at the seed's geometry: 128 x 128 inputs, T = 70.
    const int count = *std::max_element(o.batches.begin(), o.batches.end()) * comm.size();
    char label[64];
    std::snprintf(label, sizeof label, "random p=%g", p);
    run(label, random_spike_split(count, 128, 128, 70, 3, p, 1));
  }
  for (const auto& path : o.datasets)
    run(std::filesystem::path(path).filename().string(), load_split(path, o.max_images));
  MemoryTracker::uninstall();
}

}  // namespace supsnn
