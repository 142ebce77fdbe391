#include "data/template_guidance.hpp"

namespace supsnn {

std::vector<double> template_guidance(int label, int rows, int raw_steps,
                                      const TemplateGuidance& g) {
  std::vector<double> out(static_cast<std::size_t>(rows) * raw_steps, 0.0);
  for (int t = 1; t <= raw_steps; ++t) {
    for (int r = 0; r < rows; ++r) {
      double v = 0;
      if (r == label) {
        if (t >= g.rise_start && t < g.fire_step)
          v = g.threshold * (t - g.rise_start + 1) / (g.fire_step - g.rise_start);
      } else if (t >= g.fire_step) {
        v = g.inhibition;
      }
      out[static_cast<std::size_t>(r) * raw_steps + (t - 1)] = v;
    }
  }
  return out;
}

}  // namespace supsnn
