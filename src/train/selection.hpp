// Model selection over the epochs of a run (`train.select`): "last" keeps the final epoch,
// "best-val" the epoch with the highest validation accuracy (ties: the lower validation loss,
// then the earlier epoch). The choice reads validation metrics only, never test metrics; the run
// reports the test accuracy of the chosen epoch and saves its weights.
#pragma once
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "train/metrics.hpp"

namespace supsnn {

class EpochSelector {
 public:
  EpochSelector(const std::string& rule, bool have_validation) : best_val_(rule == "best-val") {
    if (rule != "last" && rule != "best-val")
      throw Error("train.select = \"" + rule + "\": expected \"last\" or \"best-val\"");
    if (best_val_ && !have_validation)
      throw Error("train.select = \"best-val\" needs a validation split (data.validation > 0)");
  }
  bool best_val() const { return best_val_; }

  // Whether an epoch with these validation figures would become the chosen one (reads only
  // the validation columns, so it can be asked before the test split is evaluated).
  bool would_choose(const EpochMetrics& em) const {
    return chosen_.epoch == 0 || !best_val_ || em.val_accuracy > chosen_.val_accuracy ||
           (em.val_accuracy == chosen_.val_accuracy && em.val_loss < chosen_.val_loss);
  }
  // Offers an epoch's metrics; true when it becomes the chosen epoch (then keep its weights).
  bool offer(const EpochMetrics& em) {
    const bool better = would_choose(em);
    if (better) chosen_ = em;
    return better;
  }
  const EpochMetrics& chosen() const { return chosen_; }  // epoch 0 before any offer

  // selection.csv: one header line and one row, the chosen epoch's metrics and the rule.
  std::string csv() const {
    char buf[256];
    std::snprintf(buf, sizeof buf, "%ld,%.17g,%.17g,%.17g,%.17g,%s\n", chosen_.epoch,
                  chosen_.val_loss, chosen_.val_accuracy, chosen_.test_loss, chosen_.test_accuracy,
                  best_val_ ? "best-val" : "last");
    return "epoch,val_loss,val_accuracy,test_loss,test_accuracy,rule\n" + std::string(buf);
  }

 private:
  bool best_val_;
  EpochMetrics chosen_;
};

}  // namespace supsnn
