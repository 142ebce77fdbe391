// `supsnn report DIR`: PNG figures of a run directory or a sweep directory, drawn by
// tools/report.py (embedded in the binary) with matplotlib. supsnn prepares what the script
// cannot compute itself (the spike raster of one input sample) and finds the interpreter.
#pragma once
#include <string>

namespace supsnn {

// $SUPSNN_PYTHON, else the first of `python3` on PATH and /usr/bin/python3 that can
// `import matplotlib, h5py`. Throws a one-line Error saying what to install when none can.
std::string find_report_python();

// The report script's text (tools/report.py at build time).
const char* report_script();

// Writes DIR/figures/*.png; returns the exit code of the script (0 on success). `epochs`: the
// epochs whose TensorBoard weight images are drawn ("1,10,25"; empty: first, middle, last).
int run_report(const std::string& dir, int raster_index, const std::string& epochs = "");

}  // namespace supsnn
