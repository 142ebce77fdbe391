// NIR export and import (src/nir; docs/formats.md "NIR"): the mapping of each layer checked
// element by element, exact round trips in both precisions and readout forms, and one-line
// refusals of what NIR or supsnn cannot express. tests/nir/nir_interop.py runs the exported
// graphs in snnTorch.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <typeinfo>

#include "common/error.hpp"
#include "io/h5.hpp"
#include "model/layered_snn.hpp"
#include "nir/nir_export.hpp"
#include "nir/nir_import.hpp"
#include "test_util.hpp"

using namespace supsnn;
namespace fs = std::filesystem;

namespace {

// A model file of the given [[model.layers]] with random parameters (rounded to float when
// `single`), positive normalisation variances.
LayeredModelFile make_model(const std::string& layers, int C, int H, int W, bool single,
                            unsigned seed = 1) {
  LayeredModelFile m;
  m.cfg = Config::from_text("[data]\nencoder = \"direct\"\n[model]\nsteps = 3\nprecision = \"" +
                                std::string(single ? "float" : "double") + "\"\n" + layers +
                                "[loss]\nkind = \"cross-entropy\"\n",
                            "test");
  m.specs = layer_specs(m.cfg);
  m.classes = {"a", "b", "c"};
  m.channels = C;
  m.height = H;
  m.width = W;
  m.steps = 3;
  m.single = single;
  const LayeredSnn<double> net(m.specs, C, H, W, 3, 3);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-1, 1);
  for (const auto* blocks : {&net.param_blocks(), &net.buffer_blocks()})
    for (const ParamBlock& pb : *blocks) {
      std::vector<double> v(pb.size());
      const bool positive =
          pb.name.find("var") != std::string::npos || pb.name.find("gamma") != std::string::npos;
      for (double& x : v) {
        x = positive ? 0.5 + std::abs(u(rng)) : u(rng);
        if (single && blocks == &net.param_blocks()) x = static_cast<float>(x);
      }
      m.data[pb.name] = v;
    }
  return m;
}

const std::string kConvNet =
    "[[model.layers]]\nkind = \"conv\"\nchannels = 3\nkernel = 3\nneuron = \"none\"\n"
    "bias = false\n"
    "[[model.layers]]\nkind = \"norm\"\ntau = 2.5\nthreshold = 0.7\n"
    "[[model.layers]]\nkind = \"pool\"\n"
    "[[model.layers]]\nkind = \"conv\"\nchannels = 4\nkernel = 3\nstride = 2\npadding = 1\n"
    "neuron = \"if\"\nthreshold = 1.5\n"
    "[[model.layers]]\nkind = \"pool\"\nmode = \"avg\"\nsize = 2\n"
    "[[model.layers]]\nkind = \"dense\"\nunits = 5\ntau = 3.0\n"
    "[[model.layers]]\nkind = \"dropout\"\np = 0.3\n"
    "[[model.layers]]\nkind = \"readout\"\n";

const nir::Node& node(const nir::Graph& g, const std::string& name) {
  const nir::Node* n = g.find(name);
  if (!n) throw Error("no node " + name);
  return *n;
}

// export -> file -> import, checked to give back every block and the configuration.
void expect_round_trip(const LayeredModelFile& m, const nir::ExportOptions& o) {
  test::ScratchDir dir("nir-rt");
  nir::write_graph(dir.file("m.nir"), nir::to_graph(m, "m.h5", o));
  const LayeredModelFile back =
      nir::from_graph(nir::read_graph(dir.file("m.nir")), "m.nir", nir::ImportOptions{});
  EXPECT_EQ(back.cfg.to_toml(), m.cfg.to_toml());
  EXPECT_EQ(back.classes, m.classes);
  EXPECT_EQ(back.single, m.single);
  EXPECT_EQ(back.channels, m.channels);
  EXPECT_EQ(back.height, m.height);
  EXPECT_EQ(back.width, m.width);
  ASSERT_EQ(back.data.size(), m.data.size());
  for (const auto& [k, v] : m.data) {
    ASSERT_TRUE(back.data.count(k)) << k;
    EXPECT_EQ(back.data.at(k), v) << k;  // bit for bit
  }
}

}  // namespace

// Each layer's NIR node, element by element: conv weights (out, k, k, in) -> (out, in, k, k),
// the dense columns after a map from (y, x, c) to (c, y, x), lif tau = tau_steps dt, IF
// r = 1 / dt, batch normalisation as a diagonal 1 x 1 conv, max pooling as SumPool2d + LIF.
TEST(Nir, ExportMapsEachLayer) {
  const LayeredModelFile m = make_model(kConvNet, 2, 10, 10, true);
  nir::ExportOptions o;
  o.dt = 1e-3;
  const nir::Graph g = nir::to_graph(m, "m.h5", o);
  const nir::Node& c1 = node(g, "layer1");
  EXPECT_EQ(c1.type, "Conv2d");
  ASSERT_EQ(c1.at("weight", "").dims, (std::vector<hsize_t>{3, 2, 3, 3}));
  const auto& W1 = m.data.at("layer1.W");  // (3, 3, 3, 2)
  for (int o2 = 0; o2 < 3; ++o2)
    for (int i = 0; i < 2; ++i)
      for (int y = 0; y < 3; ++y)
        for (int x = 0; x < 3; ++x)
          EXPECT_EQ(c1.at("weight", "").values[((o2 * 2 + i) * 3 + y) * 3 + x],
                    W1[((o2 * 3 + y) * 3 + x) * 2 + i]);
  EXPECT_EQ(c1.at("bias", "").values, std::vector<double>(3, 0.0));
  EXPECT_EQ(c1.at("input_shape", "").values, (std::vector<double>{10, 10}));
  EXPECT_EQ(c1.at("padding", "").values, (std::vector<double>{1, 1}));

  const nir::Node& bn = node(g, "layer2");  // y = x s + (beta - mean s)
  EXPECT_EQ(bn.type, "Conv2d");
  ASSERT_EQ(bn.at("weight", "").dims, (std::vector<hsize_t>{3, 3, 1, 1}));
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c) {
      const double s = m.data.at("layer2.gamma")[r] /
                       std::sqrt(m.data.at("layer2.running_var")[r] + kBatchNormEps);
      // Values as written: the model's precision (float).
      EXPECT_EQ(static_cast<float>(bn.at("weight", "").values[r * 3 + c]),
                r == c ? static_cast<float>(s) : 0.0f);
      if (r == c) {
        EXPECT_EQ(static_cast<float>(bn.at("bias", "").values[r]),
                  static_cast<float>(m.data.at("layer2.beta")[r] -
                                     m.data.at("layer2.running_mean")[r] * s));
      }
    }
  const nir::Node& lif = node(g, "layer2_lif");
  EXPECT_EQ(lif.type, "LIF");
  ASSERT_EQ(lif.at("tau", "").dims, (std::vector<hsize_t>{3, 10, 10}));  // the layer's output
  EXPECT_DOUBLE_EQ(lif.at("tau", "").values[7], 2.5e-3);
  EXPECT_EQ(lif.at("r", "").values[7], 1.0);
  EXPECT_EQ(lif.at("v_leak", "").values[7], 0.0);
  EXPECT_EQ(lif.at("v_threshold", "").values[7], 0.7);
  EXPECT_EQ(lif.at("v_reset", "").values[7], 0.0);

  EXPECT_EQ(node(g, "layer3").type, "SumPool2d");
  const nir::Node& mx = node(g, "layer3_max");
  EXPECT_EQ(mx.type, "LIF");
  EXPECT_EQ(mx.at("tau", "").values[0], 1e-3);  // one step: no memory
  EXPECT_EQ(mx.at("v_threshold", "").values[0], 0.5);

  const nir::Node& iff = node(g, "layer4_if");
  EXPECT_EQ(iff.type, "IF");
  EXPECT_DOUBLE_EQ(iff.at("r", "").values[0], 1e3);
  EXPECT_EQ(iff.at("v_threshold", "").values[0], 1.5);
  ASSERT_EQ(iff.at("r", "").dims, (std::vector<hsize_t>{4, 3, 3}));  // (5 + 2 - 3) / 2 + 1
  EXPECT_EQ(node(g, "layer5").type, "AvgPool2d");

  // The dense layer after layer 5's 4 x 1 x 1 map: a Flatten, then an Affine.
  const nir::Node& d = node(g, "layer6");
  EXPECT_EQ(d.type, "Affine");
  EXPECT_EQ(node(g, "layer6_flatten").type, "Flatten");
  EXPECT_FALSE(g.find("layer7"));  // dropout: the identity
  EXPECT_EQ(node(g, "layer8").type, "Affine");
  EXPECT_EQ(node(g, "output").at("shape", "").values, std::vector<double>{3});
  EXPECT_EQ(g.meta.at("dt").values[0], 1e-3);
  EXPECT_EQ(g.meta.at("steps").values[0], 3);
}

// A dense layer reading a 2 x 2 x 3 map directly: NIR flattens (c, y, x), supsnn (y, x, c).
TEST(Nir, DenseColumnsFollowNirFlattenOrder) {
  const LayeredModelFile m = make_model(
      "[[model.layers]]\nkind = \"dense\"\nunits = 4\n[[model.layers]]\nkind = \"readout\"\n", 3, 2,
      2, true);
  const nir::Graph g = nir::to_graph(m, "m.h5", nir::ExportOptions{});
  const auto& w = node(g, "layer1").at("weight", "").values;
  const auto& s = m.data.at("layer1.W");
  for (int o = 0; o < 4; ++o)
    for (int c = 0; c < 3; ++c)
      for (int p = 0; p < 4; ++p) EXPECT_EQ(w[o * 12 + c * 4 + p], s[o * 12 + p * 3 + c]);
  EXPECT_EQ(node(g, "layer1_flatten").at("input_type", "").values, (std::vector<double>{3, 2, 2}));
}

TEST(Nir, RoundTripIsExact) {
  expect_round_trip(make_model(kConvNet, 2, 10, 10, true), nir::ExportOptions{});
  // Double precision, a dense first layer over a map, IF neurons, batch normalisation after a
  // dense layer (a diagonal Affine), a readout without bias (Linear) summed by an integrator,
  // and an odd time step.
  nir::ExportOptions o;
  o.dt = 3e-3;
  o.readout = nir::ReadoutForm::Integrator;
  expect_round_trip(make_model("[[model.layers]]\nkind = \"dense\"\nunits = 6\nneuron = \"if\"\n"
                               "threshold = 0.3\n"
                               "[[model.layers]]\nkind = \"dense\"\nunits = 5\nneuron = \"none\"\n"
                               "bias = false\n"
                               "[[model.layers]]\nkind = \"norm\"\ntau = 7.0\n"
                               "[[model.layers]]\nkind = \"readout\"\nbias = false\n",
                               2, 3, 4, false, 5),
                    o);
}

TEST(Nir, ExportRefusesWhatNirCannotExpress) {
  auto refuse = [](const std::string& layers) {
    return test::error_of(
        [&] { nir::to_graph(make_model(layers, 1, 8, 8, true), "m.h5", nir::ExportOptions{}); });
  };
  EXPECT_EQ(refuse("[[model.layers]]\nkind = \"conv\"\nchannels = 2\nreset = \"soft\"\n"
                   "[[model.layers]]\nkind = \"readout\"\n"),
            "m.h5: model.layers[1] (conv): reset = \"soft\" has no NIR form (NIR 1.0's LIF and IF "
            "set the potential to v_reset after a spike; subtracting the threshold is not "
            "expressible)");
  const std::string e = refuse(
      "[[model.layers]]\nkind = \"conv\"\nchannels = 2\nneuron = \"none\"\n"
      "[[model.layers]]\nkind = \"pool\"\n[[model.layers]]\nkind = \"readout\"\n");
  EXPECT_NE(e.find("m.h5: model.layers[2] (pool): max pooling has no NIR primitive, and its "
                   "input is not spikes"),
            std::string::npos)
      << e;
}

namespace {

// A graph of the given chain of nodes (input first, output last).
nir::Graph chain(std::vector<nir::Node> nodes) {
  nir::Graph g;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    g.nodes.push_back(nodes[i]);
    if (i > 0) g.connect(nodes[i - 1].name, nodes[i].name);
  }
  g.meta["steps"] = nir::Array::scalar_int(4);
  g.meta_texts["class_names"] = {"x", "y"};
  return g;
}

nir::Node make(const std::string& name, const std::string& type,
               std::map<std::string, nir::Array> fields) {
  nir::Node n;
  n.name = name;
  n.type = type;
  n.fields = std::move(fields);
  return n;
}

nir::Array vec(std::vector<double> v) {
  return {{static_cast<hsize_t>(v.size())}, std::move(v), nir::Array::Type::Float32};
}

nir::Array mat(hsize_t r, hsize_t c, double x) {
  return nir::Array::filled({r, c}, x, nir::Array::Type::Float32);
}

// Input(3) -> Affine(2 x 3) -> LIF -> Affine(2 x 2) -> Output, snnTorch's conventions.
std::vector<nir::Node> mlp(double tau, double r, double v_leak = 0) {
  const nir::Array t = vec({tau, tau}), rr = vec({r, r});
  return {make("in", "Input", {{"shape", nir::Array::ints({3})}}),
          make("fc1", "Affine", {{"weight", mat(2, 3, 0.5)}, {"bias", vec({0.1, 0.2})}}),
          make("lif", "LIF",
               {{"tau", t},
                {"r", rr},
                {"v_leak", vec({v_leak, v_leak})},
                {"v_threshold", vec({1.2, 1.2})},
                {"v_reset", vec({0, 0})}}),
          make("fc2", "Affine", {{"weight", mat(2, 2, 1.0)}, {"bias", vec({0, 0})}}),
          make("out", "Output", {{"shape", nir::Array::ints({2})}})};
}

std::string import_error(const nir::Graph& g) {
  return test::error_of([&] { nir::from_graph(g, "g.nir", nir::ImportOptions{}); });
}

}  // namespace

// snnTorch writes LIF with r = tau / dt (its Leaky: v = beta v + I); supsnn reads the state
// scaled by r: the same spikes with threshold / r.
TEST(Nir, ImportsSnnTorchStyleLif) {
  const double dt = 1e-4, tau = 4 * dt;
  const LayeredModelFile m =
      nir::from_graph(chain(mlp(tau, tau / dt)), "g.nir", nir::ImportOptions{});
  ASSERT_EQ(m.specs.size(), 2U);
  EXPECT_EQ(m.specs[0].kind, LayerKind::Dense);
  EXPECT_EQ(m.specs[0].neuron.kind, NeuronKind::Lif);
  EXPECT_NEAR(m.specs[0].neuron.tau, 4.0, 1e-12);
  EXPECT_NEAR(m.specs[0].neuron.threshold, 1.2f / 4.0, 1e-7);
  EXPECT_EQ(m.specs[1].kind, LayerKind::Readout);
  EXPECT_EQ(m.channels * m.height * m.width, 3);
  EXPECT_EQ(m.steps, 4);
  EXPECT_EQ(m.classes, (std::vector<std::string>{"x", "y"}));
  EXPECT_TRUE(m.single);
  // snnTorch's exporter writes the Input with a batch dimension: (1, 3).
  auto nodes = mlp(tau, tau / dt);
  nodes[0].fields["shape"] = nir::Array::ints({1, 3});
  const LayeredModelFile b = nir::from_graph(chain(nodes), "g.nir", nir::ImportOptions{});
  EXPECT_EQ(b.data, m.data);
}

TEST(Nir, ImportRefusesWithOneLineNamingTheNode) {
  {
    auto n = mlp(4e-4, 4);
    n[2].type = "CubaLIF";
    EXPECT_EQ(import_error(chain(n)),
              "g.nir: node 'lif' (CubaLIF): not a primitive supsnn reads (it reads Input, Conv2d, "
              "Affine, Linear, Flatten, AvgPool2d, SumPool2d as max pooling over spikes, LIF, IF, "
              "I before the Output, Output)");
  }
  EXPECT_EQ(import_error(chain(mlp(4e-4, 4, 0.1))),
            "g.nir: node 'lif' (LIF): v_leak must be 0 (supsnn's lif leaks to 0)");
  {
    auto n = mlp(4e-4, 4);
    n[2].fields["tau"] = vec({4e-4, 5e-4});
    EXPECT_EQ(import_error(chain(n)),
              "g.nir: node 'lif' (LIF): field 'tau' differs between neurons (or is not finite); "
              "supsnn has one tau per layer");
  }
  {
    auto n = mlp(4e-4, 4);
    n[2].fields.erase("v_threshold");
    EXPECT_EQ(import_error(chain(n)), "g.nir: node 'lif' (LIF): field 'v_threshold' is missing");
  }
  {
    auto n = mlp(4e-4, 4);
    n.erase(n.begin() + 3);  // ends in spiking neurons
    EXPECT_EQ(import_error(chain(n)),
              "g.nir: node 'fc1' ends the network; supsnn's readout is an Affine or Linear layer "
              "without a neuron (its output is summed over steps)");
  }
  {
    nir::Graph g = chain(mlp(4e-4, 4));
    g.connect("fc1", "out");  // a branch
    EXPECT_NE(import_error(g).find("g.nir: node 'fc1' (Affine) has 2 successors"),
              std::string::npos);
  }
  {
    nir::Graph g = chain(mlp(4e-4, 4));
    g.meta.clear();
    EXPECT_EQ(import_error(g),
              "g.nir: the graph does not say how many time steps the network runs; pass --steps T");
  }
  EXPECT_NE(import_error(chain(mlp(0.5e-4, 0.5))).find("tau / dt = 0.5 steps"), std::string::npos);
  {
    auto n = mlp(4e-4, 4);
    n[1].fields["weight"].values[4] = std::nan("");
    EXPECT_EQ(import_error(chain(n)),
              "g.nir: node 'fc1' (Affine): field 'weight' is not finite at index 4 (nan)");
  }
  {
    nir::Graph g = chain(mlp(4e-4, 4));
    g.connect("out", "in");  // recurrence through the ends
    EXPECT_NE(import_error(g).find("g.nir: an edge leads into the Input or out of the Output"),
              std::string::npos);
  }
  {
    nir::Graph g = chain(mlp(4e-4, 4));
    g.meta["dt"] = nir::Array::filled({}, 0.0, nir::Array::Type::Float64);
    EXPECT_EQ(import_error(g), "g.nir: metadata 'dt' is 0, expected a positive number of seconds");
  }
  {  // a readout wider than supsnn's cross-entropy readout takes (16)
    auto n = mlp(4e-4, 4);
    n[3].fields["weight"] = mat(20, 2, 1.0);
    n[3].fields["bias"] = vec(std::vector<double>(20, 0.0));
    nir::Graph g = chain(n);
    EXPECT_NE(import_error(g).find("g.nir: the graph's layers are outside what supsnn takes"),
              std::string::npos)
        << import_error(g);
  }
  {  // a conv whose stride is 0 (would divide by zero)
    nir::Node conv =
        make("c", "Conv2d",
             {{"weight", nir::Array::filled({2, 1, 3, 3}, 0.1, nir::Array::Type::Float32)},
              {"bias", vec({0, 0})},
              {"stride", nir::Array::ints({0, 0})},
              {"padding", nir::Array::ints({1, 1})}});
    nir::Graph g =
        chain({make("in", "Input", {{"shape", nir::Array::ints({1, 6, 6})}}), conv,
               make("f", "Flatten", {}),
               make("fc", "Affine", {{"weight", mat(2, 72, 0.1)}, {"bias", vec({0, 0})}}),
               make("out", "Output", {{"shape", nir::Array::ints({2})}})});
    EXPECT_EQ(import_error(g),
              "g.nir: node 'c' (Conv2d): field 'stride' is 0, expected an integer from 1 to 65536");
  }
}

// Files that are not NIR graphs: one line naming the file, and `supsnn import` writes nothing.
TEST(Nir, BadFilesAndCommandLine) {
  test::ScratchDir dir("nir-files");
  { std::ofstream(dir.file("text.nir")) << "not hdf5\n"; }
  EXPECT_NE(
      test::error_of([&] { nir::read_graph(dir.file("text.nir")); }).find(dir.file("text.nir")),
      std::string::npos);
  const LayeredModelFile m = make_model(kConvNet, 1, 12, 12, true);
  write_layered_model(dir.file("model.h5"), m, {});
  EXPECT_EQ(test::error_of([&] { nir::read_graph(dir.file("model.h5")); }),
            dir.file("model.h5") +
                ": not a NIR file (no group 'node'; NIR 1.0 files hold the graph there)");
  auto r = test::run_supsnn("export --model model.h5 --output m.nir", dir.str());
  ASSERT_EQ(r.status, 0) << r.output;
  {  // a truncated copy
    const auto size = fs::file_size(dir.file("m.nir"));
    fs::copy_file(dir.file("m.nir"), dir.file("cut.nir"));
    fs::resize_file(dir.file("cut.nir"), size / 2);
  }
  r = test::run_supsnn("import cut.nir --output cut.h5", dir.str());
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("cut.nir"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir.file("cut.h5")));
  r = test::run_supsnn("import m.nir --output back.h5", dir.str());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(read_layered_model(dir.file("back.h5")).data, m.data);
  r = test::run_supsnn("export --model model.h5 --format onnx --output x.onnx", dir.str());
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("--format onnx: expected nir"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir.file("x.onnx")));
  // A soft-reset network is refused and leaves no file.
  write_layered_model(dir.file("soft.h5"),
                      make_model("[[model.layers]]\nkind = \"dense\"\nunits = 4\nreset = \"soft\"\n"
                                 "[[model.layers]]\nkind = \"readout\"\n",
                                 1, 4, 4, true),
                      {});
  r = test::run_supsnn("export --model soft.h5 --output soft.nir", dir.str());
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("soft.h5: model.layers[1] (dense): reset = \"soft\" has no NIR form"),
            std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(dir.file("soft.nir")));
}

// 10000 random graphs (node types, field shapes and values, metadata): the importer either reads a
// graph or refuses it with supsnn::Error, never another exception or a crash (under the
// sanitizer build: no undefined behaviour either). The structural counterpart of a fuzzer: the
// HDF5 bytes are libhdf5's to parse.
TEST(Nir, RandomGraphsAreReadOrRefused) {
  std::mt19937 rng(19);
  const std::vector<std::string> types = {"Conv2d", "Affine",    "Linear",    "Flatten", "LIF",
                                          "IF",     "AvgPool2d", "SumPool2d", "I",       "CubaLIF"};
  const std::map<std::string, std::vector<std::string>> fields = {
      {"Conv2d", {"weight", "bias", "stride", "padding", "dilation", "groups", "input_shape"}},
      {"Affine", {"weight", "bias"}},
      {"Linear", {"weight"}},
      {"Flatten", {"start_dim", "end_dim", "input_type"}},
      {"LIF", {"tau", "r", "v_leak", "v_threshold", "v_reset"}},
      {"IF", {"r", "v_threshold", "v_reset"}},
      {"AvgPool2d", {"kernel_size", "stride", "padding"}},
      {"SumPool2d", {"kernel_size", "stride", "padding"}},
      {"I", {"r"}},
      {"CubaLIF", {"tau_mem"}}};
  const std::vector<double> pool = {0,    1,    2,   3,     -1,           0.5,
                                    1e-4, 2e-4, 1e4, 1e300, std::nan(""), INFINITY};
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  auto array = [&]() {
    nir::Array a;
    const std::size_t rank = pick(5);
    for (std::size_t d = 0; d < rank; ++d) a.dims.push_back(pick(4) + (pick(3) ? 1 : 0));
    std::size_t n = 1;
    for (hsize_t d : a.dims) n *= d;
    const double same = pool[pick(pool.size())];
    for (std::size_t i = 0; i < n; ++i)
      a.values.push_back(pick(4) ? same : pool[pick(pool.size())]);
    a.type = pick(2) ? nir::Array::Type::Float32 : nir::Array::Type::Float64;
    return a;
  };
  // Half the trials: random chains; half: an exported graph with one to three mutations (a value,
  // a field's shape, a field removed, a node's type, an edge, the metadata), which reaches the
  // checks deep in the importer.
  const std::vector<nir::Graph> bases = {
      nir::to_graph(make_model(kConvNet, 2, 10, 10, true), "m.h5", nir::ExportOptions{}),
      nir::to_graph(make_model("[[model.layers]]\nkind = \"dense\"\nunits = 6\nneuron = \"if\"\n"
                               "[[model.layers]]\nkind = \"dense\"\nunits = 5\nneuron = "
                               "\"none\"\nbias = false\n[[model.layers]]\nkind = \"norm\"\n"
                               "[[model.layers]]\nkind = \"readout\"\n",
                               1, 3, 4, false),
                    "m.h5", nir::ExportOptions{})};
  constexpr int kTrials = 10000;
  int read = 0, refused = 0;
  for (int trial = 0; trial < kTrials; ++trial) {
    nir::Graph g;
    if (trial % 2) {
      g = bases[pick(bases.size())];
      for (std::size_t m = 0, count = 1 + pick(3); m < count; ++m) {
        nir::Node& n = g.nodes[pick(g.nodes.size())];
        std::vector<std::string> keys;
        for (const auto& [k, v] : n.fields) keys.push_back(k);
        switch (pick(6)) {
          case 0:
            if (!keys.empty()) {
              nir::Array& a = n.fields[keys[pick(keys.size())]];
              const double v = pool[pick(pool.size())];
              if (pick(2))
                std::fill(a.values.begin(), a.values.end(), v);
              else if (!a.values.empty())
                a.values[pick(a.values.size())] = v;
            }
            break;
          case 1:
            if (!keys.empty()) n.fields[keys[pick(keys.size())]] = array();
            break;
          case 2:
            if (!keys.empty()) n.fields.erase(keys[pick(keys.size())]);
            break;
          case 3:
            n.type = types[pick(types.size())];
            break;
          case 4:
            g.connect(g.nodes[pick(g.nodes.size())].name, g.nodes[pick(g.nodes.size())].name);
            break;
          default:
            g.meta[pick(2) ? "dt" : "steps"] = array();
        }
      }
    } else {
      std::vector<nir::Node> nodes;
      nir::Array shape = nir::Array::ints({1 + static_cast<long>(pick(2)), 4, 4});
      if (pick(4) == 0) shape = array();
      nodes.push_back(make("in", "Input", {{"shape", shape}}));
      const std::size_t len = 1 + pick(7);
      for (std::size_t i = 0; i < len; ++i) {
        const std::string& t = types[pick(types.size())];
        std::map<std::string, nir::Array> f;
        for (const std::string& k : fields.at(t))
          if (pick(6)) f[k] = array();
        nodes.push_back(make("n" + std::to_string(i), t, f));
        if (pick(8) == 0) nodes.back().meta_texts["supsnn_layer"] = {"norm"};
      }
      nodes.push_back(make("out", "Output", {{"shape", nir::Array::ints({2})}}));
      g = chain(nodes);
      if (pick(3) == 0) g.meta["dt"] = array();
      if (pick(3) == 0) g.meta["steps"] = array();
      if (pick(5) == 0) g.connect(nodes[pick(nodes.size())].name, nodes[pick(nodes.size())].name);
    }
    try {
      nir::from_graph(g, "g.nir", nir::ImportOptions{});
      ++read;
    } catch (const Error&) {
      ++refused;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "trial " << trial << ": " << typeid(e).name() << ": " << e.what();
    }
  }
  EXPECT_GT(read, 200);  // the mutations left many graphs readable: the deep checks ran
  std::printf("random graphs: %d read, %d refused\n", read, refused);
}
