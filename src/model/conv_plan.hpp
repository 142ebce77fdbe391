// model.conv = [c1, k1, s1, c2, k2, s2, ...] (channels, kernel, stride per convolutional layer)
// and model.conv_pool = [p1, p2, ...] (sum pooling after each; [] = none) -> the chain of
// ConvShapes over an input of `channels` maps of height x width (the population code's K neurons
// per pixel are K channels; 1 otherwise).
#pragma once
#include <string>
#include <vector>

#include "common/error.hpp"
#include "kernels/conv_spike.hpp"

namespace supsnn {

inline std::vector<ConvShape> conv_shapes(const std::vector<long>& triples, int height, int width,
                                          const std::vector<long>& pools = {}, int channels = 1) {
  if (triples.size() % 3 != 0)
    throw Error("model.conv: expected [channels, kernel, stride] triples, got " +
                std::to_string(triples.size()) + " numbers");
  if (!pools.empty() && pools.size() != triples.size() / 3)
    throw Error("model.conv_pool: " + std::to_string(pools.size()) + " entries for " +
                std::to_string(triples.size() / 3) + " convolutional layers");
  std::vector<ConvShape> out;
  int c = channels, h = height, w = width;
  for (std::size_t q = 0; q < triples.size(); q += 3) {
    ConvShape s;
    s.in_channels = c;
    s.height = h;
    s.width = w;
    s.out_channels = static_cast<int>(triples[q]);
    s.kernel = static_cast<int>(triples[q + 1]);
    s.stride = static_cast<int>(triples[q + 2]);
    if (s.kernel > h || s.kernel > w)
      throw Error("model.conv: layer " + std::to_string(q / 3 + 1) + " has kernel " +
                  std::to_string(s.kernel) + " larger than its " + std::to_string(h) + " x " +
                  std::to_string(w) + " input map");
    s.pool = pools.empty() ? 1 : static_cast<int>(pools[q / 3]);
    if (s.pool > s.out_height() || s.pool > s.out_width())
      throw Error("model.conv_pool: layer " + std::to_string(q / 3 + 1) + " pools by " +
                  std::to_string(s.pool) + " a " + std::to_string(s.out_height()) + " x " +
                  std::to_string(s.out_width()) + " map");
    out.push_back(s);
    c = s.out_channels;
    h = s.out_height() / s.pool;
    w = s.out_width() / s.pool;
  }
  return out;
}

}  // namespace supsnn
