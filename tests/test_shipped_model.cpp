// The trained SOC-10 model shipped in models/soc10e/ (docs/results.md): `supsnn evaluate` of it
// on the whole 10-class MSTAR test split, prepared from shared/data as a user would, reproduces
// the test accuracy its training run reported (stored in the model as `test_accuracy`).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <string>

#include "io/h5.hpp"
#include "test_util.hpp"

namespace supsnn {
namespace {

TEST(ShippedModel, Soc10EvaluatesToTheAccuracyItsRunReported) {
  const std::string model = test::source_dir() + "/models/soc10e/model.h5";
  const std::string chips = test::shared_path("data/mstar/soc10_e");
  ASSERT_FALSE(HasFailure()) << "the SOC-10 chips are needed";
  test::ScratchDir dir("shipped");
  auto r = test::run_supsnn("prepare --input " + chips + " --output soc10_e.h5", dir.str());
  ASSERT_EQ(r.status, 0) << r.output;
  r = test::run_supsnn("evaluate --model " + model + " --data soc10_e.h5", dir.str());
  ASSERT_EQ(r.status, 0) << r.output;
  long correct = -1, samples = -1;
  const auto at = r.output.find("on split 'test': accuracy ");
  ASSERT_NE(at, std::string::npos) << r.output;
  ASSERT_EQ(std::sscanf(r.output.c_str() + r.output.find('(', at), "(%ld of %ld samples)", &correct,
                        &samples),
            2)
      << r.output;
  EXPECT_EQ(samples, 2425);  // the whole test split
  const double reported = h5::attr_double(h5::open_file(model), "test_accuracy");
  EXPECT_GE(reported, 0.97);
  // The same weights, data and function; one prediction may flip where the BLAS of another
  // CPU sums a borderline sample's logits in another order.
  EXPECT_LE(std::labs(correct - std::lround(reported * samples)), 1L)
      << "run reported " << reported << "\n"
      << r.output;
  // One line per class with its accuracy and confusion row.
  for (const char* cls : {"2S1", "BTR_60", "ZSU_23_4"})
    EXPECT_NE(r.output.find(cls), std::string::npos) << cls << "\n" << r.output;
}

}  // namespace
}  // namespace supsnn
