// Config: defaults, TOML loading, --set overrides, one-line errors naming the key, the resolved
// config round trip, and docs/config.md listing every key.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "common/error.hpp"
#include "config/config.hpp"
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
  std::ifstream f(std::string(SUPSNN_TEST_SOURCE_DIR) + "/docs/config.md");
  ASSERT_TRUE(f.good()) << "docs/config.md missing";
  std::stringstream ss;
  ss << f.rdbuf();
  for (const auto& k : config_schema())
    EXPECT_NE(ss.str().find("`" + k.key + "`"), std::string::npos)
        << "docs/config.md does not document " << k.key;
}

}  // namespace
}  // namespace supsnn
