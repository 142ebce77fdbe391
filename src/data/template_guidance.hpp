// Stand-in guidance traces for datasets that have labels but no STDP stage yet (supsnn synth):
// the shape of the seed's guidance (seed-model.md section 2), the label's neuron climbing to the
// threshold and resetting, the other neurons inhibited from that moment on.
#pragma once
#include <vector>

namespace supsnn {

struct TemplateGuidance {
  int rise_start = 30;      // step at which the winner starts to climb (seed traces: ~30)
  int fire_step = 50;       // step at which it reaches the threshold and resets
  double threshold = 75.0;  // potential reached at fire_step
  double inhibition = -500.0;
};

// rows x T trace (steps 1..T) for a sample of class `label`.
std::vector<double> template_guidance(int label, int rows, int raw_steps,
                                      const TemplateGuidance& g = {});

}  // namespace supsnn
