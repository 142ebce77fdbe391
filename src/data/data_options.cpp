#include "data/data_options.hpp"
#include "common/error.hpp"

namespace supsnn {

DataOptions data_options(const Config& cfg) {
  DataOptions o;
  const std::string code = cfg.get_string("data.encoder");
  o.code = code == "poisson"   ? SpikeCode::Poisson
           : code == "latency" ? SpikeCode::Latency
                               : SpikeCode::Rate;
  o.direct = code == "direct";
  o.receptive_field = cfg.get_bool("data.receptive_field");
  o.population.neurons = static_cast<int>(cfg.get_int("data.population"));
  o.population.width = cfg.get_float("data.population_width");
  o.population.cut = cfg.get_float("data.population_cut");
  if (o.population.neurons > 1 && o.code != SpikeCode::Latency)
    throw Error("data.population = " + std::to_string(o.population.neurons) +
                " needs data.encoder = \"latency\" (got \"" + code + "\")");
  o.raw_steps = static_cast<int>(cfg.get_int("data.raw_steps"));
  o.augment.crop = static_cast<int>(cfg.get_int("data.crop"));
  o.augment.random_shift = cfg.get_bool("data.random_shift");
  o.augment.flip = cfg.get_bool("data.flip");
  o.augment.speckle = cfg.get_float("data.speckle");
  o.augment.max_shift = static_cast<int>(cfg.get_int("data.max_shift"));
  o.augment.pool = static_cast<int>(cfg.get_int("data.pool"));
  o.augment.rotate = cfg.get_float("data.rotate");
  o.augment.scale = cfg.get_float("data.scale");
  o.seed = static_cast<std::uint64_t>(cfg.get_int("train.seed"));
  o.prefetch = cfg.get_bool("data.prefetch");
  return o;
}

SpikeCodeParams spike_code_params(const DataOptions& opt, int raw_steps, std::uint64_t seed) {
  SpikeCodeParams p;
  p.code = opt.code;
  p.rate.raw_steps = raw_steps;
  p.receptive_field = opt.receptive_field;
  p.population = opt.population;
  p.seed = seed;
  return p;
}

}  // namespace supsnn
