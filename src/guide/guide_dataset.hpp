// The STDP guidance stage on dataset files: reads a train split (and a test split), runs the
// stage and writes the guided dataset with its `guide` group (docs/formats.md). Shared by
// `supsnn guide` and the pipeline (`data.guidance = "stdp"` in `supsnn train`).
#pragma once
#include <string>
#include <vector>

#include "guide/stdp_guide.hpp"

namespace supsnn {

// The settings that decide a guided dataset (the [guide] section and the data keys the stage
// reads, with the resolved seeds), stored as the guide group's `config` attribute.
std::string guide_config_text(const Config& cfg, const GuideParams& p);

// Runs the stage on the train split of train_path and, when test_path has one, its test split,
// and writes `output` (atomically) with the guidance traces of both and the guide group.
// created_by: the command line recorded in the file.
GuideResult guide_dataset(const GuideParams& p, const std::string& config_text,
                          const std::string& train_path, const std::string& test_path,
                          const std::string& output, const std::string& created_by,
                          const GuideLog& log, std::vector<std::string>* class_names);

// Per evaluated part (train, validation, test): accuracy, then per class its accuracy and its row
// of the confusion (true x predicted; "none": no labelled winner), one line each.
std::vector<std::string> guide_report_lines(const GuideResult& res,
                                            const std::vector<std::string>& classes);

// The `config` attribute of a guided dataset's guide group ("" when it has none).
std::string guided_config_of(const std::string& path);

}  // namespace supsnn
