#include "train/model_file.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "io/h5.hpp"
#include "model/layered_snn.hpp"

namespace supsnn {

namespace {

// The network the configuration describes, for its block names and sizes (double: the blocks
// are the same in both precisions).
LayeredSnn<double> network(const LayeredModelFile& m) {
  return LayeredSnn<double>(m.specs, m.channels, m.height, m.width, m.steps,
                            static_cast<int>(m.classes.size()));
}

}  // namespace

LayeredModelFile read_layered_model(const std::string& path) {
  const h5::Handle f = h5::open_file(path);
  if (!h5::has_attr(f, "network") || h5::attr_string(f, "network") != "layered")
    throw Error(path + ": not the model.h5 of a layered network (model.layers)");
  LayeredModelFile m;
  m.cfg = Config::from_text(h5::attr_string(f, "config"), path + " (config)");
  m.specs = layer_specs(m.cfg);
  m.classes = h5::read_strings(f, "class_names");
  m.channels = static_cast<int>(h5::attr_int(f, "channels"));
  m.height = static_cast<int>(h5::attr_int(f, "height"));
  m.width = static_cast<int>(h5::attr_int(f, "width"));
  m.steps = static_cast<int>(m.cfg.get_int("model.steps"));
  m.single = m.cfg.get_string("model.precision") == "float";
  const LayeredSnn<double> net = network(m);
  for (const auto* blocks : {&net.param_blocks(), &net.buffer_blocks()})
    for (const ParamBlock& pb : *blocks) {
      if (!h5::exists(f, pb.name))
        throw Error(path + ": dataset '" + pb.name + "' of the network is missing");
      auto v = h5::read<double>(f, pb.name);
      if (v.size() != pb.size())
        throw Error(path + ": dataset '" + pb.name + "' has " + std::to_string(v.size()) +
                    " values, expected " + std::to_string(pb.size()));
      for (std::size_t i = 0; i < v.size(); ++i)
        if (!std::isfinite(v[i]))
          throw Error(path + ": dataset '" + pb.name +
                      "' holds a value that is not finite (index " + std::to_string(i) + ")");
      m.data[pb.name] = std::move(v);
    }
  return m;
}

// "layer1.W:16:5:5:1 layer1.b:16 ...": a network's blocks, to compare and to name in messages.
std::string block_shapes(const std::vector<ParamBlock>& blocks) {
  std::string t;
  for (const ParamBlock& pb : blocks) {
    t += (t.empty() ? "" : " ") + pb.name;
    for (std::size_t d : pb.dims) t += ":" + std::to_string(d);
  }
  return t;
}

template <class Real>
void load_layered_into(LayeredSnn<Real>& net, const LayeredModelFile& m, const std::string& path) {
  const std::string theirs = block_shapes(network(m).param_blocks()),
                    ours = block_shapes(net.param_blocks());
  if (m.channels * m.height * m.width != net.inputs() || theirs != ours)
    throw Error(path + ": its network (" + std::to_string(m.channels) + " x " +
                std::to_string(m.height) + " x " + std::to_string(m.width) + " input; " + theirs +
                ") is not this one (" + ours + "; model.layers or data.crop differ)");
  std::vector<double> w(net.params().extent(0)), b = net.buffers_host();
  for (const auto& [blocks, into] :
       {std::make_pair(&net.param_blocks(), &w), std::make_pair(&net.buffer_blocks(), &b)})
    for (const ParamBlock& pb : *blocks) {
      const std::vector<double>& v = m.data.at(pb.name);  // read_layered_model read them all
      std::copy(v.begin(), v.end(), into->begin() + static_cast<long>(pb.offset));
    }
  net.set_weights_host(w);
  net.set_buffers_host(b);
}

template void load_layered_into(LayeredSnn<float>&, const LayeredModelFile&, const std::string&);
template void load_layered_into(LayeredSnn<double>&, const LayeredModelFile&, const std::string&);

void write_model_header(const h5::Handle& f, int channels, int height, int width,
                        const std::vector<std::string>& classes) {
  h5::set_attr(f, "schema", std::string("supsnn-model"));
  h5::set_attr(f, "schema_version", static_cast<std::int64_t>(1));
  h5::set_attr(f, "height", static_cast<std::int64_t>(height));
  h5::set_attr(f, "width", static_cast<std::int64_t>(width));
  h5::set_attr(f, "channels", static_cast<std::int64_t>(channels));  // inputs per pixel
  h5::write_strings(f, "class_names", classes);
}

void write_layered_model(const std::string& path, const LayeredModelFile& m,
                         const std::function<void(const h5::Handle&)>& extra) {
  const LayeredSnn<double> net = network(m);
  AtomicFile out(path);
  {
    const h5::Handle f = h5::create_file(out.temp_path());
    write_model_header(f, m.channels, m.height, m.width, m.classes);
    // One dataset per block and the resolved config that describes the network.
    h5::set_attr(f, "network", std::string("layered"));
    h5::set_attr(f, "config", m.cfg.to_toml());
    if (extra) extra(f);
    for (const auto* blocks : {&net.param_blocks(), &net.buffer_blocks()})
      for (const ParamBlock& pb : *blocks) {
        const auto it = m.data.find(pb.name);
        if (it == m.data.end() || it->second.size() != pb.size())
          throw Error(path + ": no values of the right size for block '" + pb.name + "'");
        const std::vector<hsize_t> dims(pb.dims.begin(), pb.dims.end());
        // Parameters in the model's precision: a float network's weights are floats (an average
        // kept in double is rounded as the network rounds it when it loads them), so a float
        // model.h5 is half the size and evaluates the same. Buffers (running statistics) stay
        // double, as the network keeps them.
        if (m.single && blocks == &net.param_blocks()) {
          const std::vector<float> v(it->second.begin(), it->second.end());
          h5::write(f, pb.name, dims, v.data());
        } else {
          h5::write(f, pb.name, dims, it->second.data());
        }
      }
  }
  out.commit();
}

}  // namespace supsnn
