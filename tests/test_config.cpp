// Config: defaults, TOML loading, --set overrides, one-line errors naming the key, the resolved
// config round trip, and docs/config.md listing every key; [[model.layers]] (issue #16): every
// kind with its defaults, key and order errors, both override forms, and resume differences.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "common/error.hpp"
#include "config/config.hpp"
#include "config/config_diff.hpp"
#include "config/layers.hpp"
#include "test_util.hpp"

namespace supsnn {
namespace {

std::string load_error(const std::string& toml) {
  test::ScratchDir dir("cfg");
  std::ofstream(dir.file("c.toml")) << toml;
  try {
    Config::load(dir.file("c.toml"));
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::string set_error(const std::string& assignment) {
  Config c;
  try {
    c.set_override(assignment);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Config, DefaultsAndFileValues) {
  Config d;
  EXPECT_EQ(d.get_string("model.dynamics"), "seed-compat");
  EXPECT_EQ(d.get_int("model.steps"), 100);
  EXPECT_DOUBLE_EQ(d.get_float("model.leak"), 0.005);
  test::ScratchDir dir("cfg");
  std::ofstream(dir.file("c.toml"))
      << "[train]\nepochs = 7\nbatch_size = 4\n[optim]\nlr = 1\nmilestones = [3, 5]\n"
         "schedule = \"step\"\n";
  Config c = Config::load(dir.file("c.toml"));
  EXPECT_EQ(c.get_int("train.epochs"), 7);
  EXPECT_DOUBLE_EQ(c.get_float("optim.lr"), 1.0);  // integer accepted for a float key
  EXPECT_EQ(c.get_int_list("optim.milestones"), (std::vector<long>{3, 5}));
  EXPECT_EQ(c.get_int("model.steps"), 100);  // untouched keys keep defaults
}

TEST(Config, BadKeysAndValuesGiveOneLineErrors) {
  std::string e = load_error("[train]\nepoch = 3\n");
  EXPECT_NE(e.find("unknown config key 'train.epoch'"), std::string::npos) << e;
  EXPECT_NE(e.find("train.epochs"), std::string::npos) << "lists the known keys: " << e;
  e = load_error("[trian]\nepochs = 3\n");
  EXPECT_NE(e.find("unknown section 'trian'"), std::string::npos) << e;
  e = load_error("[train]\nepochs = \"many\"\n");
  EXPECT_NE(e.find("'train.epochs': expected an integer"), std::string::npos) << e;
  e = load_error("[train]\nbatch_size = 0\n");
  EXPECT_NE(e.find("'train.batch_size': value 0 out of range"), std::string::npos) << e;
  e = load_error("[loss]\nkind = \"l1\"\n");
  EXPECT_NE(e.find("\"l1\" is not one of: huber, mse"), std::string::npos) << e;
  e = load_error("[model]\nleak = nan\n");
  EXPECT_NE(e.find("'model.leak'"), std::string::npos) << e;
  e = load_error("[train\nepochs = 1\n");
  EXPECT_NE(e.find("cannot read TOML config"), std::string::npos) << e;
  e = load_error("epochs = 3\n");
  EXPECT_NE(e.find("unknown config key 'epochs'"), std::string::npos) << e;
  for (const auto& msg : {load_error("[train]\nepoch = 3\n"), load_error("[train\n")})
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
}

TEST(Config, SetOverrides) {
  Config c;
  c.set_override("train.epochs=12");
  c.set_override("optim.lr=3e-4");
  c.set_override("run.dir=runs/x y");
  c.set_override("data.train=\"quoted.h5\"");
  c.set_override("train.shuffle=false");
  c.set_override("optim.milestones=[2,4]");
  EXPECT_EQ(c.get_int("train.epochs"), 12);
  EXPECT_DOUBLE_EQ(c.get_float("optim.lr"), 3e-4);
  EXPECT_EQ(c.get_string("run.dir"), "runs/x y");
  EXPECT_EQ(c.get_string("data.train"), "quoted.h5");
  EXPECT_FALSE(c.get_bool("train.shuffle"));
  EXPECT_EQ(c.get_int_list("optim.milestones"), (std::vector<long>{2, 4}));
  EXPECT_NE(set_error("train.epochs=ten").find("'train.epochs': cannot parse 'ten'"),
            std::string::npos);
  EXPECT_NE(set_error("train.epochz=1").find("unknown config key 'train.epochz'"),
            std::string::npos);
  EXPECT_NE(set_error("model.precision=half").find("is not one of: double, float"),
            std::string::npos);
  EXPECT_NE(set_error("noequals").find("expected section.key=value"), std::string::npos);
}

TEST(Config, ResolvedTomlRoundTrips) {
  Config c;
  c.set_override("optim.lr=0.1234567890123");
  c.set_override("run.dir=a \"quoted\" dir");
  c.set_override("optim.milestones=[1]");
  test::ScratchDir dir("cfg");
  std::ofstream(dir.file("resolved.toml")) << c.to_toml();
  Config back = Config::load(dir.file("resolved.toml"));
  EXPECT_EQ(back.to_toml(), c.to_toml());
  EXPECT_EQ(back.get_string("run.dir"), "a \"quoted\" dir");
  EXPECT_DOUBLE_EQ(back.get_float("optim.lr"), 0.1234567890123);
}

// ---- Hostile config text (issue #15) --------------------------------------------------------
// toml11 3.7.1 read past its buffer on invalid UTF-8 and overflowed the stack on deep nesting;
// both are now refused before toml11 sees the text, with one line naming the file or --set.

TEST(Config, InvalidUtf8IsRefusedBeforeParsing) {
  test::ScratchDir dir("cfg");
  const std::string f = dir.file("c.toml");
  for (const std::string& text :
       {std::string("'\xff'"), std::string("[run]\ndir = '\xff'\n"),
        std::string("[run]\ndir = \"\xc3\"\n"), std::string("# \xed\xa0\x80 surrogate\n"),
        std::string("[run]\ndir = '\xc0\xaf'\n"),
        std::string("[run]\ndir = '\xf4\x90\x80\x80'\n")}) {
    std::ofstream(f, std::ios::binary | std::ios::trunc) << text;
    const std::string e = test::error_of([&] { Config::load(f); });
    EXPECT_NE(e.find(f + ": invalid UTF-8 at line"), std::string::npos) << e;
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  }
  // Valid multi-byte text still loads.
  std::ofstream(f, std::ios::binary | std::ios::trunc)
      << "# \xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\x80\n[run]\ndir = 'runs/\xc3\xa9'\n";
  EXPECT_EQ(Config::load(f).get_string("run.dir"), "runs/\xc3\xa9");

  std::string e = set_error("run.dir='\xff'");
  EXPECT_NE(e.find("--set 'run.dir='?'': invalid UTF-8 at byte 9"), std::string::npos) << e;
  e = set_error("train.epochs=\xff");
  EXPECT_NE(e.find("invalid UTF-8"), std::string::npos) << e;
}

TEST(Config, DeepNestingIsRefusedBeforeParsing) {
  test::ScratchDir dir("cfg");
  const std::string f = dir.file("c.toml");
  for (const char* open : {"[", "{a="}) {
    std::string deep = "[optim]\nmilestones = ";
    for (int i = 0; i < 4000; ++i) deep += open;
    std::ofstream(f, std::ios::binary | std::ios::trunc) << deep;
    const std::string e = test::error_of([&] { Config::load(f); });
    EXPECT_NE(e.find(f + ": arrays or inline tables nested deeper than 64 levels at line 2"),
              std::string::npos)
        << e.substr(0, 300);
  }
  // Brackets inside strings and comments do not count.
  std::ofstream(f, std::ios::binary | std::ios::trunc)
      << "# " << std::string(100, '[') << "\n[run]\ndir = '" << std::string(100, '[')
      << "'\n[data]\ntrain = \"\\\"" << std::string(100, '{') << "\"\n";
  const Config ok = Config::load(f);
  EXPECT_EQ(ok.get_string("run.dir"), std::string(100, '['));
  EXPECT_EQ(ok.get_string("data.train"), "\"" + std::string(100, '{'));

  const std::string e = set_error("optim.milestones=" + std::string(4000, '['));
  EXPECT_NE(e.find("--set: config key 'optim.milestones': cannot parse"), std::string::npos)
      << e.substr(0, 200);
  // A string key takes such text literally, as it takes any bare word.
  Config c;
  c.set_override("run.dir=" + std::string(4000, '['));
  EXPECT_EQ(c.get_string("run.dir"), std::string(4000, '['));
}

TEST(Config, DirectoryOrMissingConfigSaysWhy) {
  test::ScratchDir dir("cfg");
  // A directory gave "std::bad_alloc" (toml11 sized its buffer from the directory's tellg).
  std::string e = test::error_of([&] { Config::load(dir.str()); });
  EXPECT_EQ(e, dir.str() + ": is a directory, expected a TOML config file");
  e = test::error_of([&] { Config::load(dir.file("missing.toml")); });
  EXPECT_EQ(e, dir.file("missing.toml") + ": cannot read TOML config: No such file or directory");

  const test::CommandResult r = test::run_supsnn("train --config '" + dir.str() + "'");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_EQ(r.output,
            "supsnn: error: " + dir.str() + ": is a directory, expected a TOML config file\n");
  const test::CommandResult m = test::run_supsnn("config --config '" + dir.file("no.toml") + "'");
  EXPECT_EQ(m.status, 1) << m.output;
  EXPECT_EQ(m.output, "supsnn: error: " + dir.file("no.toml") +
                          ": cannot read TOML config: No such file or directory\n");
}

TEST(Config, DocsListEveryKey) {
  std::ifstream f(test::source_dir() + "/docs/config.md");
  ASSERT_TRUE(f.good()) << "docs/config.md missing";
  std::stringstream ss;
  ss << f.rdbuf();
  for (const auto& k : config_schema())
    EXPECT_NE(ss.str().find("`" + k.key + "`"), std::string::npos)
        << "docs/config.md does not document " << k.key;
}

// ---- [[model.layers]] (issue #16) ----------------------------------------------------------

// The example of docs/config.md, "Layers".
const char* const kLayersExample =
    "[model]\nsteps = 4\n"
    "[[model.layers]]\nkind = \"conv\"\nchannels = 16\nkernel = 5\npadding = 2\n"
    "[[model.layers]]\nkind = \"pool\"\nmode = \"max\"\nsize = 2\n"
    "[[model.layers]]\nkind = \"dense\"\nunits = 128\ntau = 2.0\n"
    "[[model.layers]]\nkind = \"dropout\"\np = 0.2\n"
    "[[model.layers]]\nkind = \"readout\"\n";

Config load_text(const std::string& toml) {
  test::ScratchDir dir("cfg");
  std::ofstream(dir.file("c.toml")) << toml;
  return Config::load(dir.file("c.toml"));
}

// `[[model.layers]]` blocks, one per string of "key = value" lines.
std::string layers_toml(const std::vector<std::string>& layers, const std::string& model = "") {
  std::string s = "[model]\n" + model;
  for (const auto& l : layers) s += "[[model.layers]]\n" + l;
  return s;
}

std::vector<std::string> names_of(const ConfigLayer& l) {
  std::vector<std::string> out;
  for (const auto& kv : l.values) out.push_back(kv.first);
  return out;
}

TEST(ConfigLayers, EveryKindLoadsWithItsDefaults) {
  const Config c = load_text(
      layers_toml({"kind = \"conv\"\nchannels = 8\nneuron = \"none\"\n", "kind = \"norm\"\n",
                   "kind = \"pool\"\n", "kind = \"dense\"\nunits = 32\n", "kind = \"dropout\"\n",
                   "kind = \"readout\"\n"}));
  ASSERT_EQ(c.layers().size(), 6u);
  // Every key of the kind is stored resolved, in schema order.
  EXPECT_EQ(
      names_of(c.layers()[0]),
      (std::vector<std::string>{"kind", "channels", "kernel", "stride", "padding", "bias", "neuron",
                                "tau", "threshold", "reset", "surrogate", "surrogate_width"}));
  EXPECT_EQ(names_of(c.layers()[1]),
            (std::vector<std::string>{"kind", "neuron", "tau", "threshold", "reset", "surrogate",
                                      "surrogate_width"}));
  EXPECT_EQ(names_of(c.layers()[2]), (std::vector<std::string>{"kind", "mode", "size", "stride"}));
  EXPECT_EQ(names_of(c.layers()[3]),
            (std::vector<std::string>{"kind", "units", "bias", "neuron", "tau", "threshold",
                                      "reset", "surrogate", "surrogate_width"}));
  EXPECT_EQ(names_of(c.layers()[4]), (std::vector<std::string>{"kind", "p"}));
  EXPECT_EQ(names_of(c.layers()[5]), (std::vector<std::string>{"kind", "units", "bias"}));

  const std::vector<LayerSpec> s = layer_specs(c);
  ASSERT_EQ(s.size(), 6u);
  EXPECT_EQ(s[0].kind, LayerKind::Conv);
  EXPECT_EQ(s[0].channels, 8);
  EXPECT_EQ(s[0].kernel, 3);
  EXPECT_EQ(s[0].stride, 1);
  EXPECT_EQ(s[0].padding, 1);
  EXPECT_TRUE(s[0].bias);
  EXPECT_EQ(s[0].neuron.kind, NeuronKind::None);
  EXPECT_EQ(s[1].kind, LayerKind::Norm);
  EXPECT_EQ(s[1].neuron.kind, NeuronKind::Lif);
  EXPECT_DOUBLE_EQ(s[1].neuron.tau, 2.0);
  EXPECT_DOUBLE_EQ(s[1].neuron.threshold, 1.0);
  EXPECT_EQ(s[1].neuron.reset, ResetKind::Hard);
  EXPECT_EQ(s[1].neuron.surrogate, 1);  // arctan
  EXPECT_DOUBLE_EQ(s[1].neuron.surrogate_width, 0.5);
  EXPECT_EQ(s[2].kind, LayerKind::Pool);
  EXPECT_EQ(s[2].mode, PoolMode::Max);
  EXPECT_EQ(s[2].size, 2);
  EXPECT_EQ(s[2].pool_stride, 0);
  EXPECT_EQ(s[3].kind, LayerKind::Dense);
  EXPECT_EQ(s[3].units, 32);
  EXPECT_EQ(s[4].kind, LayerKind::Dropout);
  EXPECT_DOUBLE_EQ(s[4].p, 0.5);
  EXPECT_EQ(s[5].kind, LayerKind::Readout);
  EXPECT_EQ(s[5].units, 0);
  EXPECT_TRUE(s[5].bias);
  for (const LayerSpec& l : s) {
    LayerKind back = LayerKind::Readout;
    ASSERT_TRUE(layer_kind_from_name(layer_kind_name(l.kind), &back));
    EXPECT_EQ(back, l.kind);
  }
  EXPECT_TRUE(layer_specs(Config()).empty());
}

TEST(ConfigLayers, SetValuesReachTheSpecs) {
  const Config c = load_text(layers_toml(
      {"kind = \"conv\"\nchannels = 4\nkernel = 7\nstride = 2\npadding = 0\nbias = false\n"
       "neuron = \"if\"\ntau = 3\nthreshold = 0.25\nreset = \"soft\"\n"
       "surrogate = \"fast-sigmoid\"\nsurrogate_width = 2.5\n",
       "kind = \"pool\"\nmode = \"avg\"\nsize = 3\nstride = 1\n",
       "kind = \"dense\"\nunits = 10\nneuron = \"lif\"\nsurrogate = \"triangle\"\n",
       "kind = \"dropout\"\np = 0\n", "kind = \"readout\"\nunits = 3\nbias = false\n"}));
  const std::vector<LayerSpec> s = layer_specs(c);
  ASSERT_EQ(s.size(), 5u);
  EXPECT_EQ(s[0].kernel, 7);
  EXPECT_EQ(s[0].stride, 2);
  EXPECT_EQ(s[0].padding, 0);
  EXPECT_FALSE(s[0].bias);
  EXPECT_EQ(s[0].neuron.kind, NeuronKind::If);
  EXPECT_DOUBLE_EQ(s[0].neuron.tau, 3.0);  // an integer is accepted for a float key
  EXPECT_DOUBLE_EQ(s[0].neuron.threshold, 0.25);
  EXPECT_EQ(s[0].neuron.reset, ResetKind::Soft);
  EXPECT_EQ(s[0].neuron.surrogate, 0);
  EXPECT_DOUBLE_EQ(s[0].neuron.surrogate_width, 2.5);
  EXPECT_EQ(s[1].mode, PoolMode::Avg);
  EXPECT_EQ(s[1].size, 3);
  EXPECT_EQ(s[1].pool_stride, 1);
  EXPECT_EQ(s[2].neuron.surrogate, 2);
  EXPECT_DOUBLE_EQ(s[3].p, 0.0);
  EXPECT_EQ(s[4].units, 3);
  EXPECT_FALSE(s[4].bias);
}

TEST(ConfigLayers, ResolvedTomlRoundTrips) {
  const Config c = load_text(kLayersExample);
  ASSERT_EQ(c.layers().size(), 5u);
  EXPECT_EQ(c.get_int("model.steps"), 4);  // the other [model] keys stay as they are
  const std::string text = c.to_toml();
  // Every resolved key, right after [model]'s own keys.
  const std::size_t model = text.find("\n[model]\n"), first = text.find("[[model.layers]]"),
                    loss = text.find("\n[loss]\n");
  ASSERT_NE(first, std::string::npos) << text;
  EXPECT_LT(model, first);
  EXPECT_LT(text.find("hidden_surrogate_width = 0.5\n"), first);
  EXPECT_LT(first, loss);
  EXPECT_NE(text.find("[[model.layers]]\nkind = \"conv\"\nchannels = 16\nkernel = 5\nstride = 1\n"
                      "padding = 2\nbias = true\nneuron = \"lif\"\ntau = 2.0\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("[[model.layers]]\nkind = \"pool\"\nmode = \"max\"\nsize = 2\nstride = 0\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("[[model.layers]]\nkind = \"readout\"\nunits = 0\nbias = true\n\n[loss]"),
            std::string::npos)
      << text;

  const Config back = load_text(text);
  EXPECT_EQ(back.to_toml(), text);
  ASSERT_EQ(back.layers().size(), 5u);
  EXPECT_DOUBLE_EQ(layer_specs(back)[3].p, 0.2);
  EXPECT_EQ(layer_specs(back)[0].padding, 2);

  // Without layers the resolved text is what it was before layers existed.
  EXPECT_EQ(Config().to_toml().find("layers"), std::string::npos);
  Config cleared = c;
  cleared.set_override("model.layers=[]");
  Config plain;
  plain.set_override("model.steps=4");
  EXPECT_EQ(cleared.to_toml(), plain.to_toml());
  EXPECT_TRUE(load_text("[model]\nlayers = []\n").layers().empty());
}

TEST(ConfigLayers, KeyErrorsNameTheLayerAndKey) {
  const std::string conv = "kind = \"conv\"\nchannels = 8\n", readout = "kind = \"readout\"\n";
  auto error = [&](const std::string& layer) {
    return load_error(layers_toml({conv, layer, readout}));
  };
  std::string e = error("kind = \"conv\"\nchanels = 8\n");
  EXPECT_NE(e.find("c.toml: model.layers[2] (conv): unknown key 'chanels' (known: kind, channels, "
                   "kernel, stride, padding, bias, neuron, tau, threshold, reset, surrogate, "
                   "surrogate_width)"),
            std::string::npos)
      << e;
  e = error("kind = \"pool\"\nunits = 8\n");  // a key of another kind
  EXPECT_NE(e.find("model.layers[2] (pool): unknown key 'units' (known: kind, mode, size, stride)"),
            std::string::npos)
      << e;
  e = error("kind = \"conv\"\nkernel = 3\n");
  EXPECT_NE(e.find("c.toml: model.layers[2] (conv): missing key 'channels' (required"),
            std::string::npos)
      << e;
  e = error("kind = \"dense\"\n");
  EXPECT_NE(e.find("model.layers[2] (dense): missing key 'units'"), std::string::npos) << e;
  e = error("units = 8\n");
  EXPECT_NE(e.find("c.toml: model.layers[2]: missing key 'kind'"), std::string::npos) << e;
  e = error("kind = \"lstm\"\n");
  EXPECT_NE(e.find("config key 'model.layers[2].kind': value \"lstm\" is not one of: conv, dense, "
                   "pool, dropout, norm, readout"),
            std::string::npos)
      << e;
  e = error(conv + "kernel = \"5\"\n");
  EXPECT_NE(e.find("c.toml: config key 'model.layers[2].kernel': expected an integer"),
            std::string::npos)
      << e;
  e = error(conv + "kernel = 0\n");
  EXPECT_NE(e.find("config key 'model.layers[2].kernel': value 0 out of range, expected >= 1 and "
                   "<= 1024"),
            std::string::npos)
      << e;
  e = error(conv + "tau = 1.0\n");  // open bound: tau > 1
  EXPECT_NE(e.find("'model.layers[2].tau': value 1 out of range, expected > 1"), std::string::npos)
      << e;
  e = error(conv + "threshold = 0\n");
  EXPECT_NE(e.find("'model.layers[2].threshold': value 0 out of range, expected > 0"),
            std::string::npos)
      << e;
  e = error("kind = \"dropout\"\np = 1.0\n");  // open bound: p < 1
  EXPECT_NE(e.find("'model.layers[2].p': value 1 out of range, expected >= 0 and < 1"),
            std::string::npos)
      << e;
  EXPECT_EQ(error("kind = \"dropout\"\np = 0.99\n"), "");
  e = error(conv + "reset = \"zero\"\n");
  EXPECT_NE(e.find("'model.layers[2].reset': value \"zero\" is not one of: hard, soft"),
            std::string::npos)
      << e;
  e = load_error("[model]\nlayers = 3\n");
  EXPECT_NE(e.find("config key 'model.layers': expected an array of tables"), std::string::npos)
      << e;
  e = load_error("[model.layers]\nkind = \"readout\"\n");  // one table, not [[...]]
  EXPECT_NE(e.find("config key 'model.layers': expected an array of tables"), std::string::npos)
      << e;
  e = load_error("[model]\nlayers = [1]\n");
  EXPECT_NE(e.find("config key 'model.layers[1]': expected a table"), std::string::npos) << e;
  e = load_error("[model]\nlayer = []\n");
  EXPECT_NE(e.find("unknown config key 'model.layer'"), std::string::npos) << e;
  EXPECT_NE(e.find("model.layers)"), std::string::npos) << "lists model.layers: " << e;
  EXPECT_EQ(error("kind = \"conv\"\nchanels = 8\n").find('\n'), std::string::npos);
}

TEST(ConfigLayers, OrderErrorsNameTheLayer) {
  const std::string conv = "kind = \"conv\"\nchannels = 8\n",
                    dense = "kind = \"dense\"\nunits = 8\n", readout = "kind = \"readout\"\n",
                    pool = "kind = \"pool\"\n", norm = "kind = \"norm\"\n",
                    dropout = "kind = \"dropout\"\n";
  auto error = [&](const std::vector<std::string>& layers, const std::string& model = "") {
    return load_error(layers_toml(layers, model));
  };
  std::string e = error({conv, dense});
  EXPECT_NE(e.find("c.toml: model.layers[2] (dense): the last layer must be the readout"),
            std::string::npos)
      << e;
  e = error({conv, readout, dense});
  EXPECT_NE(e.find("c.toml: model.layers[2] (readout): the readout must be the last layer (of 3)"),
            std::string::npos)
      << e;
  e = error({dense, readout, readout});
  EXPECT_NE(e.find("model.layers[2] (readout): one of 2 readouts (also model.layers[3]), expected "
                   "exactly one"),
            std::string::npos)
      << e;
  e = error({conv, dense, conv, readout});
  EXPECT_NE(e.find("model.layers[3] (conv): a conv layer cannot follow a dense layer "
                   "(model.layers[2])"),
            std::string::npos)
      << e;
  e = error({dense, dropout, pool, readout});
  EXPECT_NE(e.find("model.layers[3] (pool): a pool layer cannot follow a dense layer "
                   "(model.layers[1])"),
            std::string::npos)
      << e;
  e = error({conv, norm, readout});  // conv keeps its lif neuron
  EXPECT_NE(e.find("model.layers[2] (norm): a norm must directly follow a conv or dense layer with "
                   "neuron = \"none\" (model.layers[1] (conv) has neuron = \"lif\")"),
            std::string::npos)
      << e;
  e = error({conv + "neuron = \"none\"\n", pool, norm, readout});
  EXPECT_NE(e.find("model.layers[3] (norm): a norm must directly follow"), std::string::npos) << e;
  EXPECT_NE(e.find("(model.layers[2] (pool) is neither)"), std::string::npos) << e;
  e = error({norm, readout});
  EXPECT_NE(e.find("model.layers[1] (norm): a norm must directly follow a conv or dense layer"),
            std::string::npos)
      << e;
  e = error({dropout, dense, readout});
  EXPECT_NE(e.find("model.layers[1] (dropout): dropout cannot be the first layer"),
            std::string::npos)
      << e;
  e = error({dense, readout}, "hidden = [16]\n");
  EXPECT_NE(e.find("c.toml: model.layers cannot be combined with model.hidden = [16]"),
            std::string::npos)
      << e;
  e = error({conv, readout}, "conv = [8, 3, 1]\n");
  EXPECT_NE(e.find("model.layers cannot be combined with model.conv = [8, 3, 1]"),
            std::string::npos)
      << e;
  // Allowed: norms after neuron-less conv and dense layers, pool first, a lone readout.
  EXPECT_EQ(error({conv + "neuron = \"none\"\n", norm, pool, dense + "neuron = \"none\"\n", norm,
                   dropout, readout}),
            "");
  EXPECT_EQ(error({pool, conv, readout}), "");
  EXPECT_EQ(error({readout}), "");
  EXPECT_EQ(error({dense, readout}, "hidden = []\n"), "");
}

TEST(ConfigLayers, OverrideOneLayerKey) {
  Config c = load_text(kLayersExample);
  c.set_override("model.layers.1.channels=32");
  c.set_override("model.layers.3.tau=4");
  c.set_override("model.layers.3.neuron=if");  // a bare word for a string key
  c.set_override("model.layers.2.stride=1");   // pool's stride, not conv's
  c.set_override("model.layers.1.kind=conv");  // the same kind: nothing changes
  std::vector<LayerSpec> s = layer_specs(c);
  EXPECT_EQ(s[0].channels, 32);
  EXPECT_EQ(s[0].stride, 1);
  EXPECT_DOUBLE_EQ(s[2].neuron.tau, 4.0);
  EXPECT_EQ(s[2].neuron.kind, NeuronKind::If);
  EXPECT_EQ(s[1].pool_stride, 1);

  auto error = [&](const std::string& assignment) {
    return test::error_of([&] { c.set_override(assignment); });
  };
  const std::string before = c.to_toml();
  std::string e = error("model.layers.6.channels=3");
  EXPECT_EQ(e,
            "--set: 'model.layers.6.channels': no layer 6, the configuration has 5 layers "
            "(model.layers.1 to model.layers.5)");
  e = error("model.layers.0.channels=3");
  EXPECT_NE(e.find("no layer 0"), std::string::npos) << e;
  e = error("model.layers.99999999999999999999.channels=3");
  EXPECT_NE(e.find("no layer 99999999999999999999, the configuration has 5 layers"),
            std::string::npos)
      << e;
  for (const char* bad : {"model.layers.x.units=3", "model.layers.1=3", "model.layers.1.=3"}) {
    e = error(bad);
    EXPECT_NE(e.find("expected model.layers.N.key (layer N from 1)"), std::string::npos) << e;
  }
  e = error("model.layers.2.channels=3");
  EXPECT_EQ(e,
            "--set: model.layers[2] (pool): unknown key 'channels' (known: kind, mode, size, "
            "stride)");
  e = error("model.layers.1.kernel=2000");
  EXPECT_EQ(e,
            "--set: config key 'model.layers[1].kernel': value 2000 out of range, expected >= 1 "
            "and <= 1024");
  e = error("model.layers.1.kernel=five");
  EXPECT_EQ(e,
            "--set: config key 'model.layers[1].kernel': cannot parse 'five', expected an "
            "integer");
  e = error("model.layers.4.p=1");
  EXPECT_NE(e.find("'model.layers[4].p': value 1 out of range, expected >= 0 and < 1"),
            std::string::npos)
      << e;
  e = error("model.layers.3.kind=conv");
  EXPECT_NE(e.find("'model.layers[3].kind': a layer's kind cannot change alone"), std::string::npos)
      << e;
  e = error("model.layers.5.kind=dense");
  EXPECT_NE(e.find("kind cannot change alone"), std::string::npos) << e;
  e = error("model.hidden=[64]");  // the old deep-SNN keys and layers do not mix
  EXPECT_NE(e.find("--set: model.layers cannot be combined with model.hidden = [64]"),
            std::string::npos)
      << e;
  EXPECT_EQ(c.to_toml(), before) << "a refused override changes nothing";

  // Order rules apply after each override.
  Config n = load_text(layers_toml({"kind = \"conv\"\nchannels = 8\nneuron = \"none\"\n",
                                    "kind = \"norm\"\n", "kind = \"readout\"\n"}));
  e = test::error_of([&] { n.set_override("model.layers.1.neuron=lif"); });
  EXPECT_NE(e.find("--set: model.layers[2] (norm): a norm must directly follow"), std::string::npos)
      << e;
  EXPECT_EQ(std::get<std::string>(n.layers()[0].at("neuron")), "none");

  e = set_error("model.layers.1.channels=8");
  EXPECT_EQ(e, "--set: 'model.layers.1.channels': no layer 1, the configuration has no layers");
}

TEST(ConfigLayers, OverrideAllLayers) {
  Config c = load_text(kLayersExample);
  c.set_override("model.layers=[{kind=\"dense\", units=64}, {kind=\"readout\", units=3}]");
  std::vector<LayerSpec> s = layer_specs(c);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].kind, LayerKind::Dense);
  EXPECT_EQ(s[0].units, 64);
  EXPECT_DOUBLE_EQ(s[0].neuron.tau, 2.0);
  EXPECT_EQ(s[1].units, 3);
  // Layers set on the command line round trip like layers from a file.
  EXPECT_EQ(load_text(c.to_toml()).to_toml(), c.to_toml());

  Config d;  // layers onto a configuration that had none
  d.set_override("model.layers=[{kind=\"conv\", channels=4}, {kind=\"readout\"}]");
  EXPECT_EQ(layer_specs(d).size(), 2u);
  d.set_override("model.layers=[]");
  EXPECT_TRUE(d.layers().empty());
  EXPECT_EQ(d.to_toml(), Config().to_toml());

  std::string e = set_error("model.layers=[{kind=\"dense\"}, {kind=\"readout\"}]");
  EXPECT_EQ(e, "--set: model.layers[1] (dense): missing key 'units' (required, no default)");
  e = set_error("model.layers=[{kind=\"dense\", units=64}]");
  EXPECT_NE(e.find("--set: model.layers[1] (dense): the last layer must be the readout"),
            std::string::npos)
      << e;
  e = set_error("model.layers=[{kind=\"readout\", unit=3}]");
  EXPECT_NE(
      e.find("--set: model.layers[1] (readout): unknown key 'unit' (known: kind, units, bias)"),
      std::string::npos)
      << e;
  e = set_error("model.layers=3");
  EXPECT_NE(e.find("--set: config key 'model.layers': expected an array of tables"),
            std::string::npos)
      << e;
  e = set_error("model.layers=[{kind=}]");
  EXPECT_NE(e.find("--set: config key 'model.layers': cannot parse '[{kind=}]'"), std::string::npos)
      << e;
  e = set_error("model.layers=dense");
  EXPECT_NE(e.find("cannot parse 'dense'"), std::string::npos) << e;
  Config h;
  h.set_override("model.hidden=[32]");
  e = test::error_of([&] { h.set_override("model.layers=[{kind=\"readout\"}]"); });
  EXPECT_NE(e.find("model.layers cannot be combined with model.hidden = [32]"), std::string::npos)
      << e;
  EXPECT_TRUE(h.layers().empty());
  EXPECT_EQ(e.find('\n'), std::string::npos) << e;
}

TEST(ConfigLayers, ResumeComparesEveryLayerKey) {
  const Config a = load_text(kLayersExample);
  EXPECT_TRUE(config_differences(a.to_toml(), a.to_toml()).empty());

  Config b = a;
  b.set_override("model.layers.1.channels=32");
  b.set_override("model.layers.5.bias=false");
  b.set_override("train.seed=7");
  auto diff = config_differences(a.to_toml(), b.to_toml());
  ASSERT_EQ(diff.size(), 3u) << join_differences(diff);
  EXPECT_EQ(diff[0].key, "model.layers.1.channels");
  EXPECT_EQ(diff[0].before, "16");
  EXPECT_EQ(diff[0].after, "32");
  EXPECT_EQ(diff[1].key, "model.layers.5.bias");
  EXPECT_EQ(diff[2].key, "train.seed");
  // Another kind at the same place: its kind (and what differs in shared keys) is reported; keys
  // of one kind only are not compared.
  Config k = a;
  k.set_override(
      "model.layers=[{kind=\"conv\", channels=16, kernel=5, padding=2}, {kind=\"pool\"}, "
      "{kind=\"dense\", units=128, neuron=\"none\"}, {kind=\"norm\"}, {kind=\"readout\"}]");
  diff = config_differences(a.to_toml(), k.to_toml());
  EXPECT_EQ(
      join_differences(diff),
      "model.layers.3.neuron \"lif\" -> \"none\", model.layers.4.kind \"dropout\" -> \"norm\"");

  Config c = a;
  c.set_override("model.layers=[{kind=\"dense\", units=64}, {kind=\"readout\"}]");
  diff = config_differences(a.to_toml(), c.to_toml());
  ASSERT_EQ(diff.size(), 1u) << join_differences(diff);
  EXPECT_EQ(join_differences(diff), "model.layers (5 layers) -> (2 layers)");
  c.set_override("model.layers=[{kind=\"readout\"}]");
  Config none;
  none.set_override("model.steps=4");
  EXPECT_EQ(join_differences(config_differences(none.to_toml(), c.to_toml())),
            "model.layers (0 layers) -> (1 layer)");
  // An older resolved config without any layer lines is a network without layers.
  EXPECT_TRUE(config_differences(Config().to_toml(), Config().to_toml()).empty());
  for (const auto& k : keys_a_resume_may_change())
    EXPECT_EQ(k.rfind("model.layers", 0), std::string::npos) << k;
}

TEST(ConfigLayers, ConfigCommandShowsTheLayers) {
  test::ScratchDir dir("cfg");
  std::ofstream(dir.file("l.toml")) << kLayersExample;
  test::CommandResult r = test::run_supsnn("config --config '" + dir.file("l.toml") +
                                           "' --set model.layers.3.units=64");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("[[model.layers]]\nkind = \"dense\"\nunits = 64\n"), std::string::npos)
      << r.output;
  r = test::run_supsnn("config --reference");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find(layer_reference_markdown()), std::string::npos) << r.output;
  r = test::run_supsnn("config --config '" + dir.file("l.toml") + "' --set model.layers.9.units=1");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.output,
            "supsnn: error: --set: 'model.layers.9.units': no layer 9, the "
            "configuration has 5 layers (model.layers.1 to model.layers.5)\n");
}

TEST(ConfigLayers, DocsHoldTheLayerTable) {
  std::ifstream f(test::source_dir() + "/docs/config.md");
  ASSERT_TRUE(f.good()) << "docs/config.md missing";
  std::stringstream ss;
  ss << f.rdbuf();
  EXPECT_NE(ss.str().find("## Layers (`[[model.layers]]`)"), std::string::npos);
  EXPECT_NE(ss.str().find(layer_reference_markdown()), std::string::npos)
      << "docs/config.md: regenerate the layer table with `supsnn config --reference`:\n"
      << layer_reference_markdown();
}

}  // namespace
}  // namespace supsnn
