#include "tb/train_logging.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace supsnn {

void log_epoch_to_tensorboard(EventWriter& tb, const EpochMetrics& m, long step) {
  auto put = [&](const char* tag, double v) {
    if (std::isfinite(v)) tb.scalar(tag, step, v);
  };
  put("train/loss", m.train_loss);
  put("train/accuracy", m.train_accuracy);
  put("val/loss", m.val_loss);
  put("val/accuracy", m.val_accuracy);
  put("test/loss", m.test_loss);
  put("test/accuracy", m.test_accuracy);
  put("lr", m.lr);
  put("samples_per_s", m.samples_per_s);
  put("epoch", static_cast<double>(m.epoch));
}

TiledImage tile_weight_maps(const std::vector<double>& w, const std::vector<int>& sizes, int height,
                            int width, int max_maps) {
  TiledImage t;
  const int L = static_cast<int>(sizes.size()) - 1;  // weight matrices
  if (L < 1 || sizes[0] != height * width) return t;
  std::vector<std::size_t> off{0};
  for (int l = 0; l < L; ++l) off.push_back(off.back() + std::size_t(sizes[l + 1]) * sizes[l]);
  if (w.size() < off.back()) return t;
  const int rows = sizes[1], m = sizes[0];
  if (L == 1) {
    t.units.resize(rows);
    std::iota(t.units.begin(), t.units.end(), 0);
  } else {
    // Importance of first-layer unit j: sum over outputs of the products of |weights| along all
    // paths from j (v = |W_L|^T ... |W_2|^T 1).
    std::vector<double> v(sizes[L], 1.0);
    for (int l = L - 1; l >= 1; --l) {
      std::vector<double> u(sizes[l], 0.0);
      for (int i = 0; i < sizes[l + 1]; ++i)
        for (int j = 0; j < sizes[l]; ++j)
          u[j] += std::fabs(w[off[l] + std::size_t(i) * sizes[l] + j]) * v[i];
      v = std::move(u);
    }
    t.units.resize(rows);
    std::iota(t.units.begin(), t.units.end(), 0);
    std::stable_sort(t.units.begin(), t.units.end(), [&](int a, int b) { return v[a] > v[b]; });
    t.units.resize(std::min(rows, max_maps));
  }
  const int k = static_cast<int>(t.units.size());
  const int gc = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(k))));
  const int gr = (k + gc - 1) / gc;
  t.width = gc * (width + 1) - 1;  // one grey pixel between tiles
  t.height = gr * (height + 1) - 1;
  t.pixels.assign(std::size_t(t.width) * t.height, 128);
  for (int q = 0; q < k; ++q) {
    const double* row = w.data() + std::size_t(t.units[q]) * m;
    const auto [lo, hi] = std::minmax_element(row, row + m);
    const double span = *hi - *lo > 0 ? *hi - *lo : 1.0;
    const int y0 = (q / gc) * (height + 1), x0 = (q % gc) * (width + 1);
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < width; ++x)
        t.pixels[std::size_t(y0 + y) * t.width + x0 + x] =
            static_cast<std::uint8_t>(std::lround(255 * (row[y * width + x] - *lo) / span));
  }
  return t;
}

bool log_weight_maps(EventWriter& tb, long step, const std::vector<double>& weights,
                     const std::vector<int>& sizes, int height, int width, int max_maps) {
  const TiledImage t = tile_weight_maps(weights, sizes, height, width, max_maps);
  if (t.pixels.empty()) return false;
  tb.image(sizes.size() == 2 ? "weights/output" : "weights/layer1_top", step, t.height, t.width,
           t.pixels);
  return true;
}

}  // namespace supsnn
