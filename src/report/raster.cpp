#include "report/raster.hpp"

#include <Kokkos_Core.hpp>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "data/dataset.hpp"
#include "io/h5.hpp"
#include "train/batch_source.hpp"

namespace supsnn {

void write_spike_raster(const Config& cfg, const std::string& dataset, const std::string& split,
                        int index, const std::string& out) {
  if (!has_split(dataset, split)) throw Error(dataset + ": no split '" + split + "'");
  // The encoder and the evaluation-time augmentation (crop, pool) of a run with this config.
  DataOptions opt = data_options(cfg);
  if (opt.direct)
    throw Error(
        "config key 'data.encoder': \"direct\" has no spikes to draw (a raster needs "
        "rate, poisson or latency)");
  opt.prefetch = false;
  opt.template_guidance = true;  // targets are not needed; labels always exist
  BatchSource<double> src(dataset, split, opt, false);
  const int count = src.reader().header().count;
  if (index < 0 || index >= count)
    throw Error(dataset + ": --index " + std::to_string(index) + " is outside split '" + split +
                "' (0.." + std::to_string(count - 1) + ")");
  src.start({index}, 1, 0);
  const EventBatch& ev = src.take(0).events();
  Kokkos::fence();
  auto off = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), ev.fwd_offsets);
  auto nrn = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), ev.fwd_neuron);
  src.finish();
  std::vector<std::int32_t> neuron, step;
  for (int k = 0; k <= ev.raw_steps; ++k)
    for (int e = off(k); e < off(k + 1); ++e) {
      neuron.push_back(nrn(e));
      step.push_back(k);
    }
  const int label = src.reader().labels()[index];
  AtomicFile file(out);
  {
    auto f = h5::create_file(file.temp_path());
    h5::set_attr(f, "schema", std::string("supsnn-raster"));
    h5::set_attr(f, "height", static_cast<std::int64_t>(src.height()));
    h5::set_attr(f, "width", static_cast<std::int64_t>(src.width()));
    h5::set_attr(f, "channels", static_cast<std::int64_t>(src.channels()));  // K of data.population
    h5::set_attr(f, "raw_steps", static_cast<std::int64_t>(ev.raw_steps));
    h5::set_attr(f, "label", static_cast<std::int64_t>(label));
    h5::set_attr(f, "class_name", src.reader().class_names().at(label));
    h5::set_attr(f, "index", static_cast<std::int64_t>(index));
    h5::set_attr(f, "split", split);
    h5::set_attr(
        f, "encoder",
        src.reader().kind() == "spikes" ? std::string("stored") : cfg.get_string("data.encoder"));
    const hsize_t n = neuron.size();
    h5::write(f, "neuron", {n}, neuron.data());
    h5::write(f, "step", {n}, step.data());
  }
  file.commit();
}

}  // namespace supsnn
