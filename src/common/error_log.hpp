// Where a fatal error is reported: once per job on stderr, and also at the end of the run's
// train.log, so that the log of a failed batch job says why it stopped.
#pragma once
#include <string>

namespace supsnn {

// The log file that a fatal error line is appended to ("" = none). The trainer sets it once the
// run's log exists and clears it when the run ends normally.
void set_error_log(const std::string& path);
const std::string& error_log();

// Prints "supsnn: error: <what>" on stderr and appends it to error_log() (if set). With several
// ranks, world rank 0 reports at once; another rank first waits `grace_seconds` for rank 0 to end
// the job (an error every rank meets is then printed once), and reports only if it is still alive.
void report_fatal_error(const std::string& what, int world_rank, int world_size,
                        double grace_seconds = 2.0);

}  // namespace supsnn
