// Turns the images of a split into spike events with the receptive-field rate code
// (kernels/encode_rate.hpp). Deterministic rate coding gives each pixel a period, so the events
// of a sample are the multiples of its period up to T; they are stored, never a dense tensor.
#pragma once
#include "data/dataset.hpp"
#include "kernels/encode_rate.hpp"

namespace supsnn {

// Fills split.events from split.images (encoding `chunk` images per kernel launch).
void encode_split(Split& split, const RateCode& code, int chunk = 64);

// Events of one sample from its per-pixel periods, sorted by (step, neuron).
void append_events_from_periods(const int* period, int inputs, int raw_steps, SpikeEvents& out);

}  // namespace supsnn
