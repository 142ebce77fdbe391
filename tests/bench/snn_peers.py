#!/usr/bin/env python3
"""Peer benchmarks: an SNN training step in SpikingJelly and snnTorch, written as their users would.

One step = forward over T time steps, cross-entropy of the logits, backward, torch.optim.Adam step,
timed per batch size on --threads threads (one by default) for --seconds each. One line per case:

    peer <library> <net> <density|direct> <batch> <samples/s>

Usage (PY: the python that launch/peers-venv.sh prints):
    taskset -c 0 PY tests/bench/snn_peers.py --net conv --batches 1,8,64 [--seconds 3] [--threads 1]
    taskset -c 0 PY tests/bench/snn_peers.py --net deep --density 0.007 --batches 1,8,64 \
        [--steps 100]
    PY tests/bench/snn_peers.py --net conv --check [--export DIR]
Other options: --libs spikingjelly,snntorch[,reference] (which to time), --net-json FILE (a JSON
list of layers replacing those of --net, same form as NETS below).

The neuron (supsnn's `lif`) follows each conv and dense layer, applied to the layer's current I_t at
every step t = 1..T with V_0 = 0:
    H_t = V_{t-1} + (I_t - V_{t-1}) / tau,  S_t = [H_t >= threshold],  V_t = H_t (1 - S_t)
tau = 2, threshold = 1; surrogate derivative dS/dH = 1 / (1 + (pi (H - threshold))^2) (ATan,
alpha = 2); the gradient flows through the reset. Layers have biases. The readout is a Linear layer
on the last spiking layer's spikes; logits = its output averaged over t; loss = mean cross-entropy
over the batch.

Networks: `conv` feeds one 1 x 64 x 64 image (values in [0, 1]) as the first layer's input at every
step ("direct" coding), T = 4; `conv-bn` is the same with the trained SOC-10 network's blocks
(conv without bias, batch normalisation over batch, time and positions in training mode, eps 1e-5,
then the LIF); `deep` feeds Bernoulli spikes of density --density, [T, B, 16384],
T = 100. Inputs are made before timing.

The libraries:
- reference: plain PyTorch of the equations above (a time loop, no SNN library), for --check
  (it can be timed too).
- spikingjelly (activation_based): multi-step mode everywhere (layer.* with step_mode='m',
  neuron.LIFNode(tau=2, decay_input=True, v_reset=0, ATan(), detach_reset=False, backend='torch')),
  the direct input repeated over T as its examples do, functional.reset_net before each batch.
  Same function as the equations.
- snntorch: nn.Conv2d / nn.Linear and snn.Leaky in a Python loop over time as its tutorials write
  it, with beta = 1 - 1/tau, the layer's current scaled by 1/tau (then beta V + I/tau = H),
  reset_mechanism="zero", reset_delay=False (the reset V = H (1 - S) happens in the same step, with
  the gradient through S) and surrogate.atan(alpha=2). One difference remains: snnTorch spikes on
  H > threshold, not H >= threshold, so the two differ only when H equals the threshold exactly.
  (Leaky also computes a detached reset from the previous membrane, which is always 0 here since
  the membrane after a zero reset is never above the threshold.)
With batch normalisation the statistics need the whole sequence, so there every library runs the
layers on the time-folded sequence (SpikingJelly's multi-step layers do anyway; snnTorch then calls
each snn.Leaky in its own time loop). All three compute the first layer's current anew at every step, as the peers' users do, although
with direct coding it is the same at every step.

--check: on a small random instance (seed 0, batch 2, the net's T and input, weights chosen so that
every spiking layer fires, copied into each library's model, float64) compares logits, loss and
every parameter gradient of each peer with the reference; the largest max|diff| / max|reference|
over these tensors must stay below 1e-10 (spikingjelly) or 1e-5 (snntorch: its spikes are float32
in a float64 model, cast back by a hook in the check, so its gradients pass through float32).
Prints one line per library and exits 1 on a mismatch. --export DIR also writes the reference's
weights, input, labels, logits, loss and gradients there as .npy files, with net.json describing
them (float64 arrays, uint8 labels and spikes, as supsnn's .npy reader takes them).
"""
import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

TAU, THRESHOLD, ALPHA = 2.0, 1.0, 2.0
NETS = {
    "conv": {"input": [1, 64, 64], "coding": "direct", "steps": 4, "layers": [
        {"kind": "conv", "channels": 16, "kernel": 5, "padding": 2}, {"kind": "pool", "size": 2},
        {"kind": "conv", "channels": 32, "kernel": 5, "padding": 2}, {"kind": "pool", "size": 2},
        {"kind": "conv", "channels": 64, "kernel": 3, "padding": 1}, {"kind": "pool", "size": 2},
        {"kind": "dense", "units": 128}, {"kind": "readout", "units": 10}]},
    # The trained SOC-10 network (configs/mstar-soc10e-conv-bn.toml, configs/bench-conv-bn.toml):
    # conv without bias and neuron, batch normalisation over batch and time, then the LIF.
    "conv-bn": {"input": [1, 64, 64], "coding": "direct", "steps": 4, "layers": [
        {"kind": "conv", "channels": 16, "kernel": 5, "padding": 2, "bias": False,
         "neuron": "none"}, {"kind": "norm"}, {"kind": "pool", "size": 2},
        {"kind": "conv", "channels": 32, "kernel": 5, "padding": 2, "bias": False,
         "neuron": "none"}, {"kind": "norm"}, {"kind": "pool", "size": 2},
        {"kind": "conv", "channels": 64, "kernel": 3, "padding": 1, "bias": False,
         "neuron": "none"}, {"kind": "norm"}, {"kind": "pool", "size": 2},
        {"kind": "dense", "units": 128}, {"kind": "readout", "units": 10}]},
    "deep": {"input": [16384], "coding": "spikes", "steps": 100, "layers": [
        {"kind": "dense", "units": 128}, {"kind": "readout", "units": 3}]},
}
LIBRARIES = ("reference", "spikingjelly", "snntorch")
CHECK_BATCH = 2
# The largest max|diff| / max|reference| allowed per checked tensor. snnTorch's spikes are float32
# whatever the membrane's dtype ((mem - threshold > 0).float()), so its float64 check casts them
# back (exactly, they are 0/1) and its gradients pass through float32 at each spike output.
CHECK_TOLERANCE = {"spikingjelly": 1e-10, "snntorch": 1e-5}
BN_EPS, BN_MOMENTUM = 1e-5, 0.1  # supsnn's norm layer (docs/model.md)


def plan_layers(input_shape, layers):
    """Resolves the layer specs into ops with their sizes; a flatten op goes before the first dense
    layer on a C x H x W input. Conv keys: channels, kernel (3), stride (1), padding (1); pool: size
    (2, max pooling, stride = size); dense and readout: units; norm: batch normalisation of a
    C x H x W input over batch, time and positions. conv, dense and norm end in the LIF neuron
    unless "neuron": "none"; conv and dense have a bias unless "bias": false. The readout comes
    last, once."""
    def required(i, spec, key):
        if not isinstance(spec.get(key), int):
            raise ValueError(f"layer {i}: {spec.get('kind')} needs an integer {key!r}")
        return spec[key]

    def neuron(i, spec):
        if spec.get("neuron", "lif") not in ("lif", "none"):
            raise ValueError(f"layer {i}: neuron must be 'lif' or 'none'")
        return spec.get("neuron", "lif") == "lif"

    shape, ops = list(input_shape), []
    for i, spec in enumerate(layers):
        kind, last = spec.get("kind"), i == len(layers) - 1
        if (kind == "readout") != last:
            raise ValueError(f"layer {i}: the readout must be the last layer, and only it")
        if kind == "conv":
            if len(shape) != 3:
                raise ValueError(f"layer {i}: conv needs a C x H x W input, has {shape}")
            c = required(i, spec, "channels")
            k, s, p = spec.get("kernel", 3), spec.get("stride", 1), spec.get("padding", 1)
            ops.append({"op": "conv", "in": shape[0], "out": c, "kernel": k, "stride": s,
                        "padding": p, "bias": bool(spec.get("bias", True)),
                        "lif": neuron(i, spec)})
            shape = [c] + [(n + 2 * p - k) // s + 1 for n in shape[1:]]
        elif kind == "pool":
            if len(shape) != 3:
                raise ValueError(f"layer {i}: pool needs a C x H x W input, has {shape}")
            ops.append({"op": "pool", "size": spec.get("size", 2)})
            shape = [shape[0]] + [n // ops[-1]["size"] for n in shape[1:]]
        elif kind == "norm":
            if len(shape) != 3:
                raise ValueError(f"layer {i}: norm needs a C x H x W input, has {shape}")
            ops.append({"op": "norm", "channels": shape[0], "lif": neuron(i, spec)})
        elif kind in ("dense", "readout"):
            if len(shape) != 1:
                ops.append({"op": "flatten"})
                shape = [math.prod(shape)]
            ops.append({"op": kind, "in": shape[0], "out": required(i, spec, "units"),
                        "bias": bool(spec.get("bias", True)),
                        "lif": kind == "dense" and neuron(i, spec)})
            shape = [spec["units"]]
        else:
            raise ValueError(f"layer {i}: kind {kind!r} is not one of conv, pool, norm, dense, "
                             "readout")
    return ops


PARAMETRIC = ("conv", "norm", "dense", "readout")


def torch_layer(op):
    """The nn.Conv2d, nn.BatchNorm2d or nn.Linear of a conv, norm, dense or readout op."""
    if op["op"] == "conv":
        return nn.Conv2d(op["in"], op["out"], op["kernel"], op["stride"], op["padding"],
                         bias=op["bias"])
    if op["op"] == "norm":
        return nn.BatchNorm2d(op["channels"], eps=BN_EPS, momentum=BN_MOMENTUM)
    return nn.Linear(op["in"], op["out"], bias=op["bias"])


def weighted(model):
    """The conv, norm and linear layers of a model, in network order (the same in each library)."""
    return [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.BatchNorm2d, nn.Linear))]


def folded(f, x, *args):
    """f applied to [T, B, ...] with time folded into the batch (a multi-step layer)."""
    y = f(x.reshape(x.shape[0] * x.shape[1], *x.shape[2:]), *args)
    return y.reshape(x.shape[0], x.shape[1], *y.shape[1:])


def run_sequence(ops, layers, x, neuron):
    """The ops layer by layer over the whole sequence x [T, B, ...] (equal to a time loop outside
    for feed-forward layers, and what batch normalisation over batch and time needs); neuron(k,
    current) turns the k-th LIF layer's current [T, B, ...] into its spikes. Returns the logits."""
    layers, k = iter(layers), 0
    for op in ops:
        if op["op"] == "pool":
            x = folded(F.max_pool2d, x, op["size"])
        elif op["op"] == "flatten":
            x = x.flatten(2)
        else:
            x = folded(next(layers), x)
            if op["lif"]:
                x, k = neuron(k, x), k + 1
    return x.mean(0)


class ATanSpike(torch.autograd.Function):
    """S = [x >= 0] with dS/dx = (alpha/2) / (1 + (pi alpha x / 2)^2), x = H - threshold."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x >= 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (ALPHA / 2) / (1 + (math.pi * ALPHA / 2 * x) ** 2)


class Reference(nn.Module):
    """The equations of the docstring in plain PyTorch. With record set (--check), it records the
    spike rate of each LIF layer and the margin, min |H - threshold| over all neurons and steps (how
    far the closest spike decision is from flipping)."""

    def __init__(self, ops):
        super().__init__()
        self.ops = ops
        self.layers = nn.ModuleList(torch_layer(op) for op in ops if op["op"] in PARAMETRIC)
        self.record, self.rates, self.margin = False, [], math.inf

    def lif(self, current):
        """The LIF recurrence over the T steps of one layer's current [T, B, ...]."""
        v, out = 0, []
        for i_t in current:
            h = v + (i_t - v) / TAU
            s = ATanSpike.apply(h - THRESHOLD)
            v = h * (1 - s)
            if self.record:
                self.margin = min(self.margin, float((h - THRESHOLD).abs().min()))
            out.append(s)
        out = torch.stack(out)
        if self.record:
            self.rates.append(float(out.mean()))
        return out

    def forward(self, x_seq):
        self.margin, self.rates = math.inf, []
        return run_sequence(self.ops, self.layers, x_seq, lambda k, current: self.lif(current))


class SpikingJellyNet(nn.Module):
    """SpikingJelly's activation_based API, multi-step mode: one nn.Sequential over [T, B, ...]."""

    def __init__(self, ops):
        super().__init__()
        from spikingjelly.activation_based import functional, layer, neuron, surrogate
        self.reset_net = functional.reset_net
        mods = []
        for op in ops:
            if op["op"] == "conv":
                mods.append(layer.Conv2d(op["in"], op["out"], op["kernel"], op["stride"],
                                         op["padding"], bias=op["bias"], step_mode="m"))
            elif op["op"] == "norm":
                mods.append(layer.BatchNorm2d(op["channels"], eps=BN_EPS, momentum=BN_MOMENTUM,
                                              step_mode="m"))
            elif op["op"] == "pool":
                mods.append(layer.MaxPool2d(op["size"], step_mode="m"))
            elif op["op"] == "flatten":
                mods.append(layer.Flatten(step_mode="m"))
            else:
                mods.append(layer.Linear(op["in"], op["out"], bias=op["bias"], step_mode="m"))
            if op.get("lif"):
                mods.append(neuron.LIFNode(
                    tau=TAU, v_reset=0.0, v_threshold=THRESHOLD,
                    surrogate_function=surrogate.ATan(alpha=ALPHA), detach_reset=False,
                    decay_input=True, step_mode="m", backend="torch"))
        self.net = nn.Sequential(*mods)

    def forward(self, x_seq):
        self.reset_net(self.net)  # users call it after each batch: the same work
        return self.net(x_seq).mean(0)


class SnnTorchNet(nn.Module):
    """snnTorch as its tutorials write it: layers and snn.Leaky called in a Python time loop. With
    batch normalisation over batch and time (which a per-step loop cannot compute) the layers run
    on the whole sequence, each snn.Leaky in its own time loop."""

    def __init__(self, ops):
        super().__init__()
        import snntorch as snn
        from snntorch import surrogate
        self.ops = ops
        self.layers = nn.ModuleList(torch_layer(op) for op in ops if op["op"] in PARAMETRIC)
        self.lifs = nn.ModuleList(
            snn.Leaky(beta=1 - 1 / TAU, threshold=THRESHOLD, spike_grad=surrogate.atan(alpha=ALPHA),
                      reset_mechanism="zero", reset_delay=False)
            for op in ops if op.get("lif"))
        self.sequence = any(op["op"] == "norm" for op in ops)

    def leaky_sequence(self, k, current):
        """The k-th snn.Leaky over the T steps of its current [T, B, ...]: its spikes."""
        mem, spikes = self.lifs[k].reset_mem(), []
        for i_t in current:
            spk, mem = self.lifs[k](i_t / TAU, mem)
            spikes.append(spk)
        return torch.stack(spikes)

    def forward(self, x_seq):
        if self.sequence:
            return run_sequence(self.ops, self.layers, x_seq, self.leaky_sequence)
        mems = [lif.reset_mem() for lif in self.lifs]
        out_rec = []
        for x in x_seq:
            layers, k = iter(self.layers), 0
            for op in self.ops:
                if op["op"] == "pool":
                    x = F.max_pool2d(x, op["size"])
                elif op["op"] == "flatten":
                    x = x.flatten(1)
                else:
                    x = next(layers)(x)
                    if op["lif"]:
                        x, mems[k] = self.lifs[k](x / TAU, mems[k])
                        k += 1
            out_rec.append(x)
        return torch.stack(out_rec).mean(0)


def build(library, ops):
    models = {"reference": Reference, "spikingjelly": SpikingJellyNet, "snntorch": SnnTorchNet}
    return models[library](ops)


def make_input(net, steps, batch, density):
    """[T, B, ...]: direct coding repeats one image (a view); spikes: float 0/1 of the density."""
    if net["coding"] == "direct":
        return torch.rand(batch, *net["input"]).expand(steps, batch, *net["input"])
    return (torch.rand(steps, batch, *net["input"]) < density).float()


def time_library(library, ops, net, a, batch):
    """Samples per second of the training step of one library at one batch size."""
    torch.manual_seed(1)
    model = build(library, ops)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    classes = ops[-1]["out"]
    pool = 4  # a few batches of inputs, made before timing
    xs = [make_input(net, a.steps, batch, a.density) for _ in range(pool)]
    labels = [torch.randint(0, classes, (batch,)) for _ in range(pool)]

    def step(i):
        loss = F.cross_entropy(model(xs[i % pool]), labels[i % pool])
        opt.zero_grad()
        loss.backward()
        opt.step()

    for i in range(2):  # warm-up (SpikingJelly's TorchScript charge functions are profiled first)
        step(i)
    done, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < a.seconds or done < 3:
        step(done)
        done += 1
    return done * batch / (time.perf_counter() - t0)


def init_check_weights(model):
    """Weights 3x PyTorch's default and biases in [0, 2] (batch normalisation: gamma in [0.5, 1.5],
    beta in [0, 1]), so that every LIF layer fires."""
    with torch.no_grad():
        for m in weighted(model):
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(0.0, 1.0)
                continue
            m.weight.mul_(3.0)
            if m.bias is not None:
                m.bias.uniform_(0.0, 2.0)


def forward_backward(model, x_seq, labels):
    logits = model(x_seq)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    grads = [p.grad for m in weighted(model) for p in (m.weight, m.bias) if p is not None]
    return {"logits": logits.detach(), "loss": loss.detach(), "grads": grads}


def relative_error(got, expected):
    """max|got - expected| / max|expected| (0 when both are 0)."""
    diff = float((got - expected).abs().max())
    return diff / float(expected.abs().max()) if diff else 0.0


def cast_spikes_back(model):
    """Makes a float64 SnnTorchNet work: each snn.Leaky's spikes take its input's dtype."""
    for lif in model.lifs:
        lif.register_forward_hook(lambda m, inputs, out: (out[0].to(inputs[0].dtype), out[1]))


def check(ops, net, a):
    """Compares each peer with the reference on one float64 instance; False on a mismatch."""
    torch.manual_seed(0)
    ref = Reference(ops).double()
    ref.record = True
    init_check_weights(ref)
    x_seq = make_input(net, a.steps, CHECK_BATCH, a.density).double()
    labels = torch.randint(0, ops[-1]["out"], (CHECK_BATCH,))
    expected = forward_backward(ref, x_seq, labels)
    rates = " ".join(f"{r:.3f}" for r in ref.rates)
    print(f"check reference {a.net} T {a.steps} batch {CHECK_BATCH} "
          f"loss {float(expected['loss']):.6f} spike rates {rates} "
          f"min|H - threshold| {ref.margin:.2g}")
    ok = True
    for library, tolerance in CHECK_TOLERANCE.items():
        model = build(library, ops).double()
        if library == "snntorch":
            cast_spikes_back(model)
        for dst, src in zip(weighted(model), weighted(ref)):
            dst.load_state_dict(src.state_dict())
        got = forward_backward(model, x_seq, labels)
        pairs = [(got["logits"], expected["logits"]), (got["loss"], expected["loss"])]
        pairs += list(zip(got["grads"], expected["grads"]))
        worst = max(relative_error(g, e) for g, e in pairs)
        good = worst <= tolerance
        print(f"check {library} {a.net} {'ok' if good else 'MISMATCH'}: float64, largest "
              f"max|diff|/max|reference| {worst:.2g} (allowed {tolerance:g}) over logits, loss "
              f"and {len(got['grads'])} parameter gradients")
        ok = ok and good
    if a.export:
        export(a.export, ops, net, a, ref, x_seq, labels, expected)
    return ok


def export(directory, ops, net, a, ref, x_seq, labels, expected):
    """Writes the reference's instance as .npy files and net.json describing them."""
    import numpy as np
    os.makedirs(directory, exist_ok=True)
    files = {}

    def save(name, array, layout):
        np.save(os.path.join(directory, name), array)
        files[name] = {"shape": list(array.shape), "dtype": str(array.dtype), "layout": layout}

    if net["coding"] == "direct":
        save("input.npy", x_seq[0].numpy(), "B x C x H x W, fed at every step")
    else:
        save("input.npy", x_seq.numpy().astype(np.uint8), "T x B x N spikes (0/1)")
    save("labels.npy", labels.numpy().astype(np.uint8), "B class indices")
    save("logits.npy", expected["logits"].numpy(), "B x classes")
    save("loss.npy", expected["loss"].reshape(1).numpy(), "1: mean cross-entropy over the batch")
    layouts = {nn.Conv2d: "out x in x kernel x kernel", nn.Linear: "out x in",
               nn.BatchNorm2d: "channels (gamma)"}
    grads = iter(expected["grads"])
    for k, m in enumerate(weighted(ref)):
        save(f"weight_{k}.npy", m.weight.detach().numpy(), layouts[type(m)])
        save(f"grad_weight_{k}.npy", next(grads).numpy(), "as weight_%d.npy" % k)
        if m.bias is not None:
            save(f"bias_{k}.npy", m.bias.detach().numpy(), "out (norm: beta)")
            save(f"grad_bias_{k}.npy", next(grads).numpy(), "as bias_%d.npy" % k)
    about = {
        "net": a.net, "input": net["input"], "coding": net["coding"], "steps": a.steps,
        "batch": CHECK_BATCH, "density": a.density if net["coding"] == "spikes" else None,
        "ops": ops,
        "weighted_layers": "weight_k / bias_k: the k-th conv, norm, dense or readout op",
        "norm": f"batch normalisation over batch, time and positions, eps {BN_EPS:g}, training "
                "mode (batch statistics)",
        "flatten": "C x H x W row-major: index (c H + h) W + w",
        "neuron": {"kind": "lif", "tau": TAU, "threshold": THRESHOLD, "V0": 0.0, "reset": "hard",
                   "equations": "H = V + (I - V) / tau, S = [H >= threshold], V = H (1 - S)",
                   "surrogate": f"atan alpha {ALPHA:g}: dS/dH = 1 / (1 + (pi (H - threshold))^2)",
                   "gradient_through_reset": True},
        "readout": "linear on the last LIF layer's spikes, logits = mean over the T steps",
        "loss": "cross-entropy of the logits, mean over the batch; gradients are of this loss",
        "spike_rates": ref.rates, "min_abs_H_minus_threshold": ref.margin, "files": files,
    }
    with open(os.path.join(directory, "net.json"), "w") as f:
        json.dump(about, f, indent=1)
    print(f"check exported {len(files)} arrays and net.json to {directory}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--net", choices=sorted(NETS), default="conv")
    ap.add_argument("--net-json", help="a JSON list of layers replacing those of --net")
    ap.add_argument("--steps", type=int, help="time steps T (default: the net's, conv 4, deep 100)")
    ap.add_argument("--density", type=float, default=0.007, help="input spike density (deep)")
    ap.add_argument("--batches", default="1,8,64")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--libs", default="spikingjelly,snntorch",
                    help="which to time, comma-separated, of " + ",".join(LIBRARIES))
    ap.add_argument("--check", action="store_true", help="compare the peers with the reference")
    ap.add_argument("--export", metavar="DIR", help="with --check: write the reference's instance")
    a = ap.parse_args()
    net = dict(NETS[a.net])
    if a.net_json:
        with open(a.net_json) as f:
            net["layers"] = json.load(f)
    a.steps = a.steps or net["steps"]
    try:
        ops = plan_layers(net["input"], net["layers"])
    except (ValueError, AttributeError) as e:  # AttributeError: a layer that is not an object
        ap.error(f"{a.net_json or a.net}: {e}")
    torch.set_num_threads(a.threads)
    if a.export and not a.check:
        ap.error("--export goes with --check")
    if a.check:
        sys.exit(0 if check(ops, net, a) else 1)
    libraries = a.libs.split(",")
    for library in libraries:
        if library not in LIBRARIES:
            ap.error(f"--libs: {library!r} is not one of {', '.join(LIBRARIES)}")
    coding = f"{a.density:g}" if net["coding"] == "spikes" else "direct"
    for library in libraries:
        for batch in [int(b) for b in a.batches.split(",")]:
            rate = time_library(library, ops, net, a, batch)
            print(f"peer {library} {a.net} {coding} {batch} {rate:.1f}", flush=True)


if __name__ == "__main__":
    main()
