#include "train/trainer.hpp"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <filesystem>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "common/rng.hpp"
#include "data/batch.hpp"
#include "data/encode_split.hpp"
#include "io/h5.hpp"
#include "model/seed_bilayer.hpp"
#include "train/optimizer.hpp"

namespace supsnn {

namespace {

std::shared_ptr<spdlog::logger> make_logger(const std::string& run_dir, const std::string& level,
                                            int rank) {
  std::vector<spdlog::sink_ptr> sinks;
  sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  if (rank == 0)
    sinks.push_back(
        std::make_shared<spdlog::sinks::basic_file_sink_mt>(run_dir + "/train.log", true));
  auto log = std::make_shared<spdlog::logger>("supsnn", sinks.begin(), sinks.end());
  log->set_pattern(rank == 0 ? "[%H:%M:%S] %v" : "[%H:%M:%S rank " + std::to_string(rank) + "] %v");
  log->set_level(rank == 0 ? spdlog::level::from_str(level) : spdlog::level::warn);
  log->flush_on(spdlog::level::info);
  return log;
}

// The contiguous part [begin, end) of `count` items that rank r of `size` owns.
std::pair<int, int> rank_slice(int count, int rank, int size) {
  const long c = count;
  return {static_cast<int>(c * rank / size), static_cast<int>(c * (rank + 1) / size)};
}

Split load_split(const std::string& path, const std::string& name, int raw_steps,
                 std::vector<std::string>* classes) {
  Split s = read_split(path, name, classes);
  if (s.has_images()) {
    RateCode code;
    code.raw_steps = raw_steps;
    encode_split(s, code);
  }
  return s;
}

// Both splits, read and checked before anything is written, so bad data leaves no run directory.
struct TrainData {
  Split train, test;
  bool have_test = false;
  std::vector<std::string> classes;
};

TrainData load_data(const Config& cfg) {
  const std::string train_path = cfg.get_string("data.train");
  const std::string test_path =
      cfg.get_string("data.test").empty() ? train_path : cfg.get_string("data.test");
  const int raw_steps = static_cast<int>(cfg.get_int("data.raw_steps"));
  TrainData d;
  d.train = load_split(train_path, "train", raw_steps, &d.classes);
  if (d.train.guide_rows == 0)
    throw Error(train_path +
                ": split 'train' has no guidance traces (the trace-matching loss needs them; "
                "make the dataset with supsnn synth or supsnn import-seed)");
  if (d.train.count == 0) throw Error(train_path + ": split 'train' is empty");
  if (static_cast<int>(d.classes.size()) > d.train.guide_rows)
    throw Error(train_path + ": " + std::to_string(d.classes.size()) +
                " classes but guidance has only " + std::to_string(d.train.guide_rows) +
                " rows (one output neuron per class is needed)");
  d.have_test = has_split(test_path, "test");
  if (d.have_test) {
    std::vector<std::string> test_classes;
    d.test = load_split(test_path, "test", raw_steps, &test_classes);
    if (d.test.inputs() != d.train.inputs() || d.test.raw_steps != d.train.raw_steps ||
        test_classes != d.classes)
      throw Error(test_path +
                  ": test split differs from the train split in image size, steps or class names");
  }
  return d;
}

template <class Real>
TrainSummary train_typed(const Config& cfg, const Comm& comm, spdlog::logger& log,
                         const TrainData& data) {
  using Clock = std::chrono::steady_clock;
  const Split& train = data.train;
  const Split& test = data.test;
  const bool have_test = data.have_test;
  const auto& classes = data.classes;
  if (!have_test) log.warn("no 'test' split; test accuracy is not measured");
  const int n = train.guide_rows, m = train.inputs();

  TimeGrid grid{train.raw_steps, static_cast<int>(cfg.get_int("model.steps"))};
  SeedBilayer<Real> model(n, m, grid, static_cast<Real>(cfg.get_float("model.leak")));
  model.init_uniform(static_cast<std::uint64_t>(cfg.get_int("train.seed")),
                     cfg.get_float("model.init_low"), cfg.get_float("model.init_high"));
  AdamParams ap;
  ap.lr = cfg.get_float("optim.lr");
  ap.beta1 = cfg.get_float("optim.beta1");
  ap.beta2 = cfg.get_float("optim.beta2");
  ap.eps = cfg.get_float("optim.epsilon");
  Adam<Real> adam(model.params().extent(0), ap);
  const LossKind kind = cfg.get_string("loss.kind") == "mse" ? LossKind::MSE : LossKind::Huber;
  const Real delta = static_cast<Real>(cfg.get_float("loss.delta"));

  const long epochs = cfg.get_int("train.epochs");
  const int batch = static_cast<int>(cfg.get_int("train.batch_size"));
  const int eval_batch = static_cast<int>(cfg.get_int("train.eval_batch_size"));
  const auto seed = static_cast<std::uint64_t>(cfg.get_int("train.seed"));
  log.info(
      "train: {} samples, test: {} samples, {} classes, {} inputs x {} raw steps -> {} steps, "
      "{} ranks, global batch {}, {} precision",
      train.count, test.count, classes.size(), m, train.raw_steps + 1, grid.steps, comm.size(),
      batch, sizeof(Real) == 8 ? "double" : "float");

  BatchBuilder<Real> builder;
  auto grads_host = Kokkos::create_mirror_view(model.grads());
  MetricsLog metrics(cfg.get_string("run.dir"));
  TrainSummary summary;

  // Loss and accuracy of a whole split, each rank evaluating its contiguous slice.
  auto evaluate = [&](const Split& s, double* mean_loss) {
    const auto [begin, end] = rank_slice(s.count, comm.rank(), comm.size());
    double sums[2] = {0, 0};  // loss, correct
    for (int b0 = begin; b0 < end; b0 += eval_batch) {
      std::vector<int> idx;
      for (int i = b0; i < std::min(end, b0 + eval_batch); ++i) idx.push_back(i);
      builder.build(s, idx);
      model.forward(builder.events());
      if (s.guide_rows == n)
        for (double l : model.loss(builder.guidance_raw(), builder.labels(), kind, delta, Real(1)))
          sums[0] += l;
      const auto pred = model.predictions();
      for (std::size_t b = 0; b < idx.size(); ++b) sums[1] += pred[b] == s.labels[idx[b]];
    }
    comm.allreduce_sum(sums, 2);
    *mean_loss = s.guide_rows == n ? sums[0] / s.count : NAN;
    return sums[1] / s.count;
  };

  for (long epoch = 1; epoch <= epochs; ++epoch) {
    const double lr =
        scheduled_lr(ap.lr, cfg.get_string("optim.schedule") == "step",
                     cfg.get_int_list("optim.milestones"), cfg.get_float("optim.gamma"), epoch);
    const auto order = cfg.get_bool("train.shuffle") ? shuffled_indices(train.count, seed, epoch)
                                                     : shuffled_indices(train.count, seed, 0);
    const auto t0 = Clock::now();
    double sums[2] = {0, 0};  // loss, correct (this rank's samples)
    for (int g0 = 0; g0 < train.count; g0 += batch) {
      const int global = std::min(batch, train.count - g0);
      const auto [begin, end] = rank_slice(global, comm.rank(), comm.size());
      std::vector<int> idx(order.begin() + g0 + begin, order.begin() + g0 + end);
      if (!idx.empty()) {
        builder.build(train, idx);
        model.forward(builder.events());
        const auto losses =
            model.loss(builder.guidance_raw(), builder.labels(), kind, delta, Real(1) / global);
        const auto pred = model.predictions();  // with the weights before this step's update
        for (std::size_t b = 0; b < idx.size(); ++b) {
          if (!std::isfinite(losses[b]))
            throw Error("training diverged: loss of train sample " + std::to_string(idx[b]) +
                        " is " + std::to_string(losses[b]) + " at epoch " + std::to_string(epoch));
          sums[0] += losses[b];
          sums[1] += pred[b] == train.labels[idx[b]];
        }
        model.backward(builder.events());
      } else {
        Kokkos::deep_copy(model.grads(), Real(0));
      }
      // The all-reduce reads host memory, so wait for the backward kernels (deep_copy fences).
      Kokkos::deep_copy(grads_host, model.grads());
      comm.allreduce_sum(grads_host.data(), grads_host.extent(0));
      Kokkos::deep_copy(model.grads(), grads_host);
      adam.step(model.params(), model.grads(), lr);
    }
    Kokkos::fence();
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    comm.allreduce_sum(sums, 2);
    EpochMetrics em;
    em.epoch = epoch;
    em.lr = lr;
    em.seconds = seconds;
    em.samples_per_s = train.count / seconds;
    em.train_loss = sums[0] / train.count;
    em.train_accuracy = sums[1] / train.count;
    em.test_loss = NAN;
    em.test_accuracy = have_test ? evaluate(test, &em.test_loss) : NAN;
    log.info(
        "epoch {}/{}  train loss {:.6g}  train acc {:.4f}  test loss {:.6g}  test acc {:.4f}  lr "
        "{:.3g}  "
        "{:.1f} samples/s",
        epoch, epochs, em.train_loss, em.train_accuracy, em.test_loss, em.test_accuracy, lr,
        em.samples_per_s);
    if (comm.rank() == 0) metrics.append(em);
    summary.epochs.push_back(em);
  }

  summary.weights = model.weights_host();
  summary.outputs = n;
  summary.inputs = m;
  if (comm.rank() == 0) {
    AtomicFile out(cfg.get_string("run.dir") + "/model.h5");
    {
      auto f = h5::create_file(out.temp_path());
      h5::set_attr(f, "schema", std::string("supsnn-model"));
      h5::set_attr(f, "schema_version", static_cast<std::int64_t>(1));
      h5::set_attr(f, "height", static_cast<std::int64_t>(train.height));
      h5::set_attr(f, "width", static_cast<std::int64_t>(train.width));
      h5::write_strings(f, "class_names", classes);
      h5::write(f, "W", {static_cast<hsize_t>(n), static_cast<hsize_t>(m)}, summary.weights.data());
    }
    out.commit();
  }
  if (have_test && !summary.epochs.empty())
    log.info("final test accuracy: {:.4f} ({} classes, chance {:.4f})",
             summary.epochs.back().test_accuracy, classes.size(), 1.0 / classes.size());
  return summary;
}

}  // namespace

TrainSummary run_training(const Config& cfg, const Comm& comm, const std::string& command_line) {
  comm.check_launch();
  const TrainData data = load_data(cfg);
  const std::string run_dir = cfg.get_string("run.dir");
  if (comm.rank() == 0) {
    std::error_code ec;
    std::filesystem::create_directories(run_dir, ec);
    if (ec) throw Error(run_dir + ": cannot create run directory: " + ec.message());
    write_text_atomic(run_dir + "/config.toml", "# " + command_line + "\n" + cfg.to_toml());
  }
  MPI_Barrier(comm.raw());  // the run directory exists before any rank opens its log
  auto log = make_logger(run_dir, cfg.get_string("run.log_level"), comm.rank());
  log->info("supsnn train, run directory {}", run_dir);
  if (cfg.get_string("model.precision") == "float")
    return train_typed<float>(cfg, comm, *log, data);
  return train_typed<double>(cfg, comm, *log, data);
}

}  // namespace supsnn
