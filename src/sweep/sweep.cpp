#include "sweep/sweep.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "common/progress.hpp"
#include "sweep/bands.hpp"
#include "train/trainer.hpp"

namespace fs = std::filesystem;

namespace supsnn {

namespace {

// Splits "v1,v2,[1,2]" at commas outside brackets.
std::vector<std::string> split_values(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  int depth = 0;
  for (char c : s) {
    if (c == '[') ++depth;
    if (c == ']') --depth;
    if (c == ',' && depth == 0) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

// A folder name from grid values: no path separators or blanks.
std::string dir_name(std::string s) {
  for (char& c : s)
    if (c == '/' || c == ' ' || c == '\\') c = '_';
  return s;
}

bool is_file(const std::string& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

// The one-line summary row of a configuration's final test accuracy.
std::string summary_row(const std::string& name, const Bands& b) {
  char line[512];
  const SampleStats& s = b.final_test;
  // Quoted: grid names contain commas.
  std::snprintf(line, sizeof line, "\"%s\",%ld,%.10g,%.10g,%.10g,%.10g,%.10g,%.10g\n", name.c_str(),
                s.count, s.mean, s.std, s.min, s.max, s.ci95_low, s.ci95_high);
  return line;
}

void write_summary(const std::string& path, const std::map<std::string, std::string>& rows) {
  std::string csv = "config,runs,final_test_accuracy_mean,std,min,max,ci95_low,ci95_high\n";
  for (const auto& [name, row] : rows) csv += row;
  write_text_atomic(path, csv);
}

// Bands of one configuration; `summary` gets its row.
using Summary = std::map<std::string, std::string>;  // name -> row: files sorted by name

long bands_for(const std::string& dir, const std::string& name, const std::vector<RunInfo>& runs,
               Summary& summary) {
  std::vector<RunCurves> curves;
  std::string identity;
  for (const auto& r : runs) {
    if (!r.finished) continue;
    RunCurves c = read_run_curves(r.dir, r.seed);
    // Relative to the bands folder, so that the files do not depend on how DIR was spelled.
    c.dir = fs::path(r.dir).lexically_relative(dir).string();
    curves.push_back(std::move(c));
    identity = r.identity;
  }
  if (curves.empty()) return 0;
  const Bands b = compute_bands(name, identity, std::move(curves));
  write_bands(dir, b);
  summary[name] = summary_row(name, b);
  std::printf("%-40s %2ld runs  final test accuracy %.4f +- %.4f (95%% CI %.4f .. %.4f)\n",
              name.c_str(), b.final_test.count, b.final_test.mean, b.final_test.std,
              b.final_test.ci95_low, b.final_test.ci95_high);
  return b.final_test.count;
}

}  // namespace

std::vector<GridPoint> expand_grid(const std::vector<std::string>& grid) {
  std::vector<GridPoint> points{{"", {}}};
  for (const auto& g : grid) {
    const auto eq = g.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == g.size())
      throw Error("--grid '" + g + "': expected key=value1,value2,...");
    const std::string key = g.substr(0, eq);
    std::vector<GridPoint> next;
    for (const auto& p : points)
      for (const auto& v : split_values(g.substr(eq + 1))) {
        if (v.empty()) throw Error("--grid '" + g + "': empty value");
        GridPoint q = p;
        q.name += (q.name.empty() ? "" : ",") + dir_name(key + "=" + v);
        q.assignments.push_back(key + "=" + v);
        next.push_back(std::move(q));
      }
    points = std::move(next);
  }
  if (grid.empty()) points[0].name = "base";
  return points;
}

RunInfo inspect_run(const std::string& dir) {
  RunInfo r;
  r.dir = dir;
  Config c = Config::load(dir + "/config.toml");
  r.seed = c.get_int("train.seed");
  c.set("train.seed", 0L);
  c.set("run.dir", std::string());
  r.identity = c.to_toml();
  r.finished = is_file(dir + "/model.h5") && is_file(dir + "/metrics.h5");
  return r;
}

long write_config_bands(const std::string& dir, const std::string& name,
                        const std::vector<RunInfo>& runs) {
  Summary summary;
  return bands_for(dir, name, runs, summary);
}

int run_sweep(const SweepOptions& o, const Comm& world) {
  if (o.output.empty()) throw Error("sweep: --output DIR is required");
  if (o.seeds.empty()) throw Error("sweep: no seeds (--repeats K or --seeds 1,2,3)");
  if (std::set<long>(o.seeds.begin(), o.seeds.end()).size() != o.seeds.size())
    throw Error("sweep: --seeds has repeated values");
  if (o.group_size < 1 || world.size() % o.group_size != 0)
    throw Error("sweep: --group-size " + std::to_string(o.group_size) + " does not divide the " +
                std::to_string(world.size()) + " MPI ranks");
  world.check_launch();
  // Every configuration is built and validated before anything trains.
  Config base = o.config.empty() ? Config() : Config::load(o.config);
  for (const auto& s : o.sets) base.set_override(s);
  const std::vector<GridPoint> points = expand_grid(o.grid);
  struct Job {
    Config cfg;
    std::string dir;
  };
  std::vector<Job> jobs;
  for (const auto& p : points) {
    Config c = base;
    for (const auto& a : p.assignments) c.set_override(a);
    for (long seed : o.seeds) {
      Job j{c, o.output + "/" + p.name + "/seed-" + std::to_string(seed)};
      j.cfg.set("train.seed", seed);
      j.cfg.set("run.dir", j.dir);
      jobs.push_back(std::move(j));
    }
  }

  const int groups = world.size() / o.group_size, group = world.rank() / o.group_size;
  MPI_Comm sub_raw;
  MPI_Comm_split(world.raw(), group, world.rank(), &sub_raw);
  long failed = 0;
  {
    const Comm sub(sub_raw);
    Progress progress("repetitions", static_cast<long>(jobs.size()), 0, progress_rank());
    for (std::size_t j = group; j < jobs.size(); j += groups) {
      if (is_file(jobs[j].dir + "/model.h5")) continue;  // finished by an earlier sweep
      try {
        run_training(jobs[j].cfg, sub, o.command_line + "  # repetition " + jobs[j].dir, "auto");
      } catch (const std::exception& e) {
        // A group of one rank can go on with its next repetition; in a larger group the other
        // ranks may wait in a collective, so the whole job stops (main aborts MPI).
        if (o.group_size > 1) throw;
        std::fprintf(stderr, "supsnn sweep: repetition %s failed: %s\n", jobs[j].dir.c_str(),
                     e.what());
        ++failed;
      }
      // Rank 0 sees the other groups' progress through the finished run directories.
      long done = 0;
      for (const auto& job : jobs) done += is_file(job.dir + "/model.h5");
      progress.clear();
      progress.update(done);
    }
  }
  MPI_Comm_free(&sub_raw);
  long failed_all = failed;
  world.allreduce_sum(&failed_all, 1);
  if (world.rank() == 0) {
    Summary summary;
    long missing = 0;
    for (const auto& p : points) {
      std::vector<RunInfo> runs;
      for (long seed : o.seeds) {
        const std::string d = o.output + "/" + p.name + "/seed-" + std::to_string(seed);
        if (is_file(d + "/config.toml")) runs.push_back(inspect_run(d));
      }
      missing += static_cast<long>(o.seeds.size()) -
                 bands_for(o.output + "/" + p.name, p.name, runs, summary);
    }
    write_summary(o.output + "/summary.csv", summary);
    if (missing > 0)
      std::printf("%ld of %zu repetitions did not finish (see their train.log)\n", missing,
                  jobs.size());
  }
  MPI_Barrier(world.raw());
  return failed_all > 0 ? 2 : 0;
}

int gather_sweep(const std::string& dir, long expected) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error(dir + ": not a directory");
  // "DIR/" and "DIR" name the same folder (and the same configuration names).
  fs::path root = fs::path(dir).lexically_normal();
  if (!root.has_filename() && root.has_parent_path()) root = root.parent_path();
  std::vector<std::string> run_dirs;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
       it.increment(ec))
    if (it->is_directory() && is_file((it->path() / "config.toml").string()))
      run_dirs.push_back(it->path().lexically_normal().string());
  if (ec) throw Error(dir + ": cannot list: " + ec.message());
  if (run_dirs.empty()) throw Error(dir + ": no run directories (folders with config.toml) below");
  std::sort(run_dirs.begin(), run_dirs.end());

  // Group by configuration identity; each group's bands go to the folder above its runs.
  std::map<std::string, std::vector<RunInfo>> by_identity;
  for (const auto& d : run_dirs) {
    RunInfo r = inspect_run(d);
    by_identity[r.identity].push_back(std::move(r));
  }
  std::map<std::string, const std::vector<RunInfo>*> by_folder;
  for (const auto& [id, runs] : by_identity) {
    fs::path parent = fs::path(runs.front().dir).parent_path();
    for (const auto& r : runs)
      if (fs::path(r.dir).parent_path() != parent)
        throw Error(dir + ": runs of one configuration lie in different folders (" +
                    runs.front().dir + ", " + r.dir + "); keep each configuration's runs together");
    if (by_folder.count(parent.string()))
      throw Error(parent.string() +
                  ": holds runs of different configurations; give each configuration its own "
                  "folder (compare their config.toml)");
    by_folder[parent.string()] = &runs;
  }

  Summary summary;
  bool complete = true;
  for (const auto& [folder, runs] : by_folder) {
    // Runs directly in DIR (slurm/sweep.sbatch's DIR/seed-<k>) take DIR's own name.
    const fs::path rel = fs::path(folder).lexically_relative(root);
    const std::string name =
        rel.empty() || rel == "." ? fs::weakly_canonical(root).filename().string() : rel.string();
    const long finished = bands_for(folder, name, *runs, summary);
    std::vector<long> seeds;
    for (const auto& r : *runs) {
      if (!r.finished) {
        complete = false;
        std::printf("  %s: unfinished or failed (no model.h5)\n", r.dir.c_str());
      }
      seeds.push_back(r.seed);
    }
    if (expected > 0 && static_cast<long>(runs->size()) < expected) {
      complete = false;
      std::string which;
      // Seeds 1..K is the SLURM array's numbering; list the absent ones when it applies.
      for (long s = 1; s <= expected; ++s)
        if (std::find(seeds.begin(), seeds.end(), s) == seeds.end())
          which += (which.empty() ? "" : ",") + std::to_string(s);
      std::printf("  %s: %ld of %ld repetitions have no run directory%s\n", name.c_str(),
                  expected - static_cast<long>(runs->size()), expected,
                  which.empty() ? "" : (" (seeds " + which + ")").c_str());
    }
    if (expected > 0 && finished < expected) complete = false;
  }
  write_summary((root / "summary.csv").string(), summary);
  return complete ? 0 : 2;
}

}  // namespace supsnn
