// Fixtures of the MPI training tests: a scratch folder shared by all ranks and a small synthetic
// dataset.
#pragma once
#include <mpi.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "data/dataset.hpp"
#include "data/synth.hpp"
#include "data/template_guidance.hpp"
#include "dist/comm.hpp"

namespace supsnn {

inline std::string shared_temp_dir() {
  // Rank 0 names the directory; every rank uses the same one (one node).
  char buf[512] = {};
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank == 0) {
    const auto p =
        std::filesystem::temp_directory_path() / ("supsnn-mpi-" + std::to_string(::getpid()));
    std::filesystem::create_directories(p);
    std::snprintf(buf, sizeof buf, "%s", p.c_str());
  }
  MPI_Bcast(buf, sizeof buf, MPI_CHAR, 0, MPI_COMM_WORLD);
  return buf;
}

// A 3-class synthetic image dataset of 3 x per_class training samples (32 x 32) with template
// guidance, written by rank 0 of the world.
inline std::string make_dataset(const std::string& dir, int per_class = 16) {
  const std::string path = dir + "/synth.h5";
  if (Comm().rank() == 0) {
    SynthOptions o;
    o.train_per_class = per_class;
    o.test_per_class = 4;
    o.height = o.width = 32;
    DatasetFile ds;
    ds.kind = "images";
    ds.class_names = synth_class_names(3);
    for (bool test : {false, true}) {
      const SynthSplit g = synth_generate(o, test);
      Split s;
      s.name = test ? "test" : "train";
      s.count = g.count;
      s.height = s.width = 32;
      s.images = g.images;
      s.labels.assign(g.labels.begin(), g.labels.end());
      s.guide_rows = 3;
      for (int l : s.labels) {
        const auto tr = template_guidance(l, 3, 70);
        s.guidance.insert(s.guidance.end(), tr.begin(), tr.end());
      }
      ds.splits.push_back(s);
    }
    write_dataset(path, ds, "test_train_mpi");
  }
  MPI_Barrier(MPI_COMM_WORLD);
  return path;
}

}  // namespace supsnn
