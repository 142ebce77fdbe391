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
