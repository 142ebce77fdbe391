// The unsupervised STDP guidance stage (seed-model.md section 2, docs/model.md "STDP guidance
// stage"): a bilayer m -> n network trained online by STDP with winner-take-all, whose output
// potential traces become the guidance signals of the supervised stage.
#pragma once
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "data/data_options.hpp"
#include "data/dataset.hpp"
#include "kernels/stdp.hpp"

namespace supsnn {

class Config;

// Receives the stage's progress lines (may be empty).
using GuideLog = std::function<void(const std::string&)>;

struct GuideParams {
  int epochs = 12;
  int outputs = 0;                 // n; 0 = number of classes
  bool adaptive_threshold = true;  // threshold = max_k (#inputs spiking at k) / divisor
  double threshold_divisor = 3, p_th = 80;
  LifParams lif;
  StdpParams stdp;
  double init_low = 0, init_high = 0.4;
  double unused_penalty = 0.06;
  // Mechanisms the STDP literature adds to make winner-take-all STDP learn (docs/model.md, "STDP
  // guidance stage"); the defaults are the seed's (all off).
  double theta_plus = 0;      // homeostasis: threshold offset added per output spike (0 = off)
  double theta_decay = 1;     // factor applied to the offsets after every training sample
  double normalise = 0;       // > 0: the winner's weights are scaled to mean `normalise` per input
  bool normalise_l2 = false;  // guide.normalise_by = "l2": to Euclidean norm normalise x sqrt(m)
  bool winner_by_potential = false;  // guide.winner = "potential": the sample's winner is the
                                     // neuron with the largest mean free-running potential
  int retries = 0;             // a sample that makes no neuron fire runs again at a lower threshold
  double retry_factor = 0.75;  // threshold factor per retry
  std::string labels = "one-per-class";  // or "responses": each neuron labelled by its wins
  double validation = 0;  // fraction of each class of the train split held out (data.validation)
  std::string mode = "per-sample";  // per-sample, teacher or class-mean
  std::uint64_t seed = 1;           // guide.seed (0 in the config: train.seed)
  std::uint64_t holdout_seed = 1;   // draws the held-out part (the pipeline: the run's split)
  std::string encoder = "rate";     // spike code of image datasets (data.encoder)
  DataOptions data;                 // the data.* keys: the code's parameters (data_options)
  int raw_steps = 70;               // T of image datasets (data.raw_steps); spikes keep the file's
};

// From the guide.* keys. pipeline (data.guidance = "stdp" in supsnn train): the image
// augmentation keys belong to the supervised stage and are allowed (the STDP stage still encodes
// whole chips).
GuideParams guide_params(const Config& cfg, bool pipeline = false);

// Spikes of all samples of a split in the two orders the kernels read (kernels/stdp.hpp), host.
struct GuideSpikes {
  int count = 0, inputs = 0, raw_steps = 0;
  std::vector<std::int64_t> step_base;  // count+1: sample b's step offsets start at b*(T+2)
  std::vector<int> step_off;            // count*(T+2), offsets into neuron (absolute)
  std::vector<int> neuron;              // events, per sample by (step, neuron)
  std::vector<int> act_first;           // count+1: sample b's active inputs [first(b), first(b+1))
  std::vector<int> act_neuron;          // active inputs
  std::vector<int> act_off;             // per active input (plus one at the end), into act_step
  std::vector<int> act_step;            // their steps, increasing
  std::vector<double> threshold_count;  // per sample: max_k #inputs spiking at k
};

// From stored events (sorted per sample by (step, neuron)).
GuideSpikes guide_spikes(const SpikeEvents& ev, int inputs, int raw_steps);

// Per sample result of the recording pass.
struct GuideResult {
  std::vector<double> weights;  // n x m after training
  int outputs = 0;              // n
  std::vector<int> assignment;  // class -> output neuron (responses: its most selective neuron)
  std::vector<int> label;       // output neuron -> class (-1: never won a training sample)
  std::vector<int> row_neuron;  // one-per-class: guidance row r = output neuron row_neuron[r]
  double train_accuracy = 0, validation_accuracy = std::nan(""), test_accuracy = 0;
  std::vector<int> train_winner, test_winner;
  // Per evaluated part ("train", "validation", "test"): classes x (classes + 1) counts (true x
  // predicted; the last column: no neuron won, or the winner has no label).
  struct Part {
    std::string name;
    std::vector<long> confusion;
    long samples = 0, correct = 0, unwon = 0;
  };
  std::vector<Part> parts;
  double seconds = 0;
};

class StdpGuide {
 public:
  StdpGuide(const GuideParams& p, int outputs, int inputs, int raw_steps);
  // One sample: trains when learn (weights change), records trace (n x T) when non-null.
  // sp must not change while this object is used with it (its currents are kept per sample).
  // forced >= 0 forces the winner-take-all winner (teacher mode). Returns the winner or -1.
  int run_sample(const GuideSpikes& sp, int b, bool learn, int forced, double* trace);
  std::vector<double> weights() const;  // n x m
  void set_weights(const std::vector<double>& w);
  int outputs() const { return n_; }
  int spikes_last() const {  // output spikes of the last sample
    return std::accumulate(fired_.begin(), fired_.end(), 0);
  }
  int retries_last() const { return retries_last_; }           // retries the last sample took
  const std::vector<double>& theta() const { return theta_; }  // homeostatic offsets

 private:
  int attempt(const GuideSpikes& sp, int b, double th, bool learn, int forced, double* trace);
  int potential_winner(const GuideSpikes& sp, int b);
  struct Views;
  GuideParams p_;
  int n_, m_, T_;
  std::shared_ptr<Views> v_;
  std::vector<double> theta_;
  std::vector<int> fired_;    // spikes per neuron in the last sample
  std::vector<double> free_;  // n x T free-running potentials (guide.winner = "potential")
  // The currents in Views::cur belong to sample cur_b_ of *cur_sp_ and the present weights, so a
  // second attempt at the same sample (free-running pass, retries) reuses them.
  const GuideSpikes* cur_sp_ = nullptr;
  int cur_b_ = -1;
  int retries_last_ = 0;
};

// Class -> neuron by majority winner: counts[c*n + j] = training samples of class c won by j.
// Greedy over (count desc, class asc, neuron asc) on free classes and neurons, so it is a
// permutation; classes left without a won sample take the free neurons in increasing order.
// Requires n >= classes.
std::vector<int> assign_classes(const std::vector<long>& counts, int classes, int n);

// The whole stage on a dataset: trains on ds.splits "train", records guidance (rows permuted so
// that row c = neuron of class c) into every split, and returns the summary. log (may be null)
// receives progress lines.
// guide.labels = "responses": neuron j's class is the one with the highest share of its samples
// won by j (counts[c * n + j] / class_size[c]; ties: the lower class); -1 when j won nothing.
std::vector<int> label_neurons(const std::vector<long>& counts, const std::vector<long>& class_size,
                               int classes, int n);

GuideResult run_guide(const GuideParams& p, DatasetFile& ds, const GuideLog& log);

// Rows of the guidance the stage writes: one per class with guide.labels = "responses", else one
// per output neuron (guide.outputs, 0 = one per class).
inline int guidance_rows(const GuideParams& p, int classes) {
  return p.labels == "responses" || p.outputs <= 0 ? classes : p.outputs;
}

// "guide accuracy: train ..., validation ..., test ... (n outputs, mode ..., s)": the summary line
// of `supsnn guide` and of the pipeline's log.
std::string guide_accuracy_line(const GuideResult& r, const GuideParams& p);

}  // namespace supsnn
