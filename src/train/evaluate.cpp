#include "train/evaluate.hpp"

#include <cmath>
#include <cstdint>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "config/config.hpp"
#include "config/layers.hpp"
#include "data/data_options.hpp"
#include "data/dataset.hpp"
#include "io/h5.hpp"
#include "kernels/batch_metrics.hpp"
#include "model/host_views.hpp"
#include "model/layered_snn.hpp"
#include "train/batch_source.hpp"
#include "train/model_file.hpp"

namespace supsnn {

namespace {

template <class Real>
Evaluation run(const LayeredModelFile& m, const std::string& model_path, const std::string& data,
               const std::string& split, int batch, const std::string& outputs, bool inputs) {
  DataOptions opt = data_options(m.cfg);
  opt.template_guidance = true;  // labels only
  BatchSource<Real> src(data, split, opt, false);
  Evaluation ev;
  ev.classes = src.reader().class_names();
  if (ev.classes != m.classes)
    throw Error(data + ": its classes differ from those of " + model_path);
  if (src.channels() != m.channels || src.height() != m.height || src.width() != m.width)
    throw Error(data + ": samples of " + std::to_string(src.channels()) + " x " +
                std::to_string(src.height()) + " x " + std::to_string(src.width()) + ", " +
                model_path + " reads " + std::to_string(m.channels) + " x " +
                std::to_string(m.height) + " x " + std::to_string(m.width) +
                " (data.crop of its config?)");
  opt.outputs = static_cast<int>(ev.classes.size());
  LayeredSnn<Real> model(m.specs, m.channels, m.height, m.width, m.steps, opt.outputs);
  load_layered_into(model, m, model_path);
  const int C = static_cast<int>(ev.classes.size());
  const int count = src.reader().header().count;
  std::vector<int> all(count);
  for (int i = 0; i < count; ++i) all[i] = i;
  ev.confusion.assign(static_cast<std::size_t>(C) * C, 0);
  // Per-sample outputs (--outputs): the readout over time, and the encoded inputs if asked.
  const int n_out = model.outputs(), T = model.steps();
  std::vector<double> readout, encoded;
  std::vector<std::int64_t> labels;
  // Correct counts and the confusion accumulate on the device, read once at the end.
  View1<double> sums("supsnn::evaluate_sums", 2 + C * C), check("supsnn::evaluate_check", 3);
  src.start(all, batch, 0);
  for (int s = 0; s * batch < count; ++s) {
    auto& bb = src.take(s);
    model.forward(bb);
    accumulate_batch_metrics<Real>(View1<const Real>(), model.scores(), bb.labels(), C, sums,
                                   check);
    if (!outputs.empty()) {  // the slow path of a user who asked for the traces
      const auto sc = host_copy(model.scores());
      readout.insert(readout.end(), sc.begin(), sc.end());
      const auto lab = host_copy(bb.labels());
      labels.insert(labels.end(), lab.begin(), lab.begin() + bb.batch());
      if (inputs) {
        const auto img = host_copy(bb.images());
        encoded.insert(encoded.end(), img.begin(),
                       img.begin() + static_cast<long>(bb.batch()) * model.inputs());
      }
    }
    ev.samples += bb.batch();
  }
  src.finish();
  const auto h = host_copy(sums);
  ev.correct = std::lround(h[1]);
  for (int q = 0; q < C * C; ++q) ev.confusion[q] = std::lround(h[2 + q]);
  if (!outputs.empty()) {
    // The readout's decision: the largest sum over time, first of equals.
    const int N = static_cast<int>(labels.size());
    std::vector<double> sum(static_cast<std::size_t>(N) * n_out, 0.0);
    for (std::size_t q = 0; q < sum.size(); ++q)
      for (int t = 0; t < T; ++t) sum[q] += readout[q * T + t];
    const std::vector<int> best = argmax_rows(sum, N, n_out);
    const std::vector<std::int64_t> pred(best.begin(), best.end());
    AtomicFile out(outputs);
    {
      const h5::Handle f = h5::create_file(out.temp_path());
      h5::set_attr(f, "model", model_path);
      h5::set_attr(f, "data", data);
      h5::set_attr(f, "split", split);
      h5::write_strings(f, "class_names", ev.classes);
      const auto rows = static_cast<hsize_t>(N);
      h5::write(f, "labels", {rows}, labels.data());
      h5::write(f, "predictions", {rows}, pred.data());
      const std::vector<Real> r(readout.begin(), readout.end());
      h5::write(f, "readout", {rows, static_cast<hsize_t>(n_out), static_cast<hsize_t>(T)},
                r.data(), 256);
      if (inputs) {
        const std::vector<float> x(encoded.begin(), encoded.end());
        h5::write(f, "inputs",
                  {rows, static_cast<hsize_t>(m.height), static_cast<hsize_t>(m.width),
                   static_cast<hsize_t>(m.channels)},
                  x.data(), 256);
      }
    }
    out.commit();
  }
  return ev;
}

}  // namespace

Evaluation evaluate_model(const std::string& model_path, const std::string& data_path,
                          const std::string& split, int batch, const std::string& outputs,
                          bool inputs) {
  const LayeredModelFile m = read_layered_model(model_path);
  std::string data = data_path;
  if (data.empty())
    data = m.cfg.get_string("data.test").empty() ? m.cfg.get_string("data.train")
                                                 : m.cfg.get_string("data.test");
  if (!has_split(data, split)) throw Error(data + ": no split '" + split + "'");
  return m.single ? run<float>(m, model_path, data, split, batch, outputs, inputs)
                  : run<double>(m, model_path, data, split, batch, outputs, inputs);
}

}  // namespace supsnn
