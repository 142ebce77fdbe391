#include "train/evaluate.hpp"

#include <cmath>

#include "common/error.hpp"
#include "config/config.hpp"
#include "config/layers.hpp"
#include "data/data_options.hpp"
#include "data/dataset.hpp"
#include "io/h5.hpp"
#include "kernels/batch_metrics.hpp"
#include "model/layered_snn.hpp"
#include "train/batch_source.hpp"

namespace supsnn {

namespace {

template <class Real>
Evaluation run(const h5::Handle& f, const std::string& model_path, const Config& cfg,
               const std::string& data, const std::string& split, int batch) {
  DataOptions opt = data_options(cfg);
  opt.template_guidance = true;  // labels only
  BatchSource<Real> src(data, split, opt, false);
  Evaluation ev;
  ev.classes = src.reader().class_names();
  if (ev.classes != h5::read_strings(f, "class_names"))
    throw Error(data + ": its classes differ from those of " + model_path);
  opt.outputs = static_cast<int>(ev.classes.size());
  LayeredSnn<Real> model(layer_specs(cfg), src.channels(), src.height(), src.width(),
                         static_cast<int>(cfg.get_int("model.steps")), opt.outputs);
  std::vector<double> w(model.params().extent(0)), b = model.buffers_host();
  auto fill = [&](const std::vector<ParamBlock>& blocks, std::vector<double>& into) {
    for (const ParamBlock& pb : blocks) {
      if (!h5::exists(f, pb.name))
        throw Error(model_path + ": dataset '" + pb.name + "' of the network is missing");
      const auto v = h5::read<double>(f, pb.name);
      std::size_t n = 1;
      for (std::size_t d : pb.dims) n *= d;
      if (v.size() != n)
        throw Error(model_path + ": dataset '" + pb.name + "' has " + std::to_string(v.size()) +
                    " values, expected " + std::to_string(n));
      std::copy(v.begin(), v.end(), into.begin() + static_cast<long>(pb.offset));
    }
  };
  fill(model.param_blocks(), w);
  fill(model.buffer_blocks(), b);
  model.set_weights_host(w);
  model.set_buffers_host(b);
  const int C = static_cast<int>(ev.classes.size());
  const int count = src.reader().header().count;
  std::vector<int> all(count);
  for (int i = 0; i < count; ++i) all[i] = i;
  ev.confusion.assign(static_cast<std::size_t>(C) * C, 0);
  // Correct counts and the confusion accumulate on the device, read once at the end.
  View1<double> sums("supsnn::evaluate_sums", 2 + C * C), check("supsnn::evaluate_check", 3);
  src.start(all, batch, 0);
  for (int s = 0; s * batch < count; ++s) {
    auto& bb = src.take(s);
    model.forward(bb);
    accumulate_batch_metrics<Real>(View1<const Real>(), model.scores(), bb.labels(), C, sums,
                                   check);
    ev.samples += bb.batch();
  }
  src.finish();
  const auto h = host_copy(sums);
  ev.correct = std::lround(h[1]);
  for (int q = 0; q < C * C; ++q) ev.confusion[q] = std::lround(h[2 + q]);
  return ev;
}

}  // namespace

Evaluation evaluate_model(const std::string& model_path, const std::string& data_path,
                          const std::string& split, int batch) {
  const h5::Handle f = h5::open_file(model_path);
  if (!h5::has_attr(f, "network") || h5::attr_string(f, "network") != "layered")
    throw Error(model_path +
                ": not the model.h5 of a layered network (model.layers); supsnn evaluate runs "
                "those");
  const Config cfg = Config::from_text(h5::attr_string(f, "config"), model_path + " (config)");
  std::string data = data_path;
  if (data.empty())
    data = cfg.get_string("data.test").empty() ? cfg.get_string("data.train")
                                               : cfg.get_string("data.test");
  if (!has_split(data, split)) throw Error(data + ": no split '" + split + "'");
  return cfg.get_string("model.precision") == "float"
             ? run<float>(f, model_path, cfg, data, split, batch)
             : run<double>(f, model_path, cfg, data, split, batch);
}

}  // namespace supsnn
