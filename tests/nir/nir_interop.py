#!/usr/bin/env python3
"""supsnn <-> NIR interoperability test (issue #19; docs/interop.md, docs/formats.md "NIR").

Run by ctest (test nir_interop) in the virtual environment of launch/peers-venv.sh (nir, nirtorch
and snnTorch from PyPI, Debian's torch). It
  1. trains a small layered SNN with supsnn (conv + batch norm + max pool, conv + avg pool, dense
     + dropout, readout) on synthetic chips, and writes its readout traces on the test split
     (`supsnn evaluate --outputs --inputs`);
  2. exports it (`supsnn export --format nir`), reads it with `nir.read` (type checking on),
     imports it with snnTorch's NIR importer and runs snnTorch on the same encoded inputs:
     predictions must agree on >= 99 % of the samples, and the readout traces of >= 95 % of
     the samples within TRACE_TOL (the rest: a spike on the threshold, where supsnn fires at
     v >= threshold and NIR/snnTorch at v > threshold, or float rounding in snnTorch's rescaled
     membrane);
  3. checks the test can fail: the same graph with one LIF time constant doubled must disagree;
  4. round trip: supsnn import of the exported file gives back every dataset bit for bit and
     the same configuration, and evaluates to the same traces; also with --readout integrator;
  5. imports a graph written by the nir package in snnTorch's conventions (LIF with r = tau/dt,
     Linear without bias) and checks supsnn's traces against snnTorch's on the same inputs.
Exits non-zero with a message on the first failure.
"""
import argparse
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np
import torch

import nir

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from nir_snntorch import TRACE_TOL, compare, snntorch_traces  # noqa: E402

MIN_AGREE = 0.99
MIN_TRACES = 0.95

NET = """
[data]
train = "data.h5"
encoder = "direct"
crop = 32
random_shift = false
validation = 0.2
[model]
steps = 5
precision = "float"
[[model.layers]]
kind = "conv"
channels = 6
kernel = 3
neuron = "none"
bias = false
[[model.layers]]
kind = "norm"
tau = 2.0
threshold = 0.5
[[model.layers]]
kind = "pool"
[[model.layers]]
kind = "conv"
channels = 8
kernel = 3
tau = 3.0
threshold = 0.6
[[model.layers]]
kind = "pool"
mode = "avg"
[[model.layers]]
kind = "dense"
units = 24
tau = 2.5
threshold = 0.5
[[model.layers]]
kind = "dropout"
p = 0.2
[[model.layers]]
kind = "readout"
[loss]
kind = "cross-entropy"
[optim]
lr = 0.01
[train]
epochs = 6
batch_size = 8
[run]
dir = "run"
"""


def fail(msg):
    print("nir_interop: FAIL: " + msg, flush=True)
    sys.exit(1)


def run(args, cwd):
    r = subprocess.run(args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        fail(" ".join(args) + " exited " + str(r.returncode) + ":\n" + r.stdout)
    return r.stdout


def same_model(a_path, b_path, what):
    with h5py.File(a_path, "r") as a, h5py.File(b_path, "r") as b:
        if sorted(a.keys()) != sorted(b.keys()):
            fail(f"{what}: datasets {sorted(a.keys())} != {sorted(b.keys())}")
        for k in a.keys():
            x, y = a[k][()], b[k][()]
            if x.dtype != y.dtype or x.shape != y.shape or not np.array_equal(x, y):
                fail(f"{what}: dataset {k} differs ({x.dtype}{x.shape} vs {y.dtype}{y.shape})")
        if a.attrs["config"] != b.attrs["config"]:
            fail(f"{what}: the configurations differ")
    print(f"nir_interop: {what}: every dataset and the configuration identical", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--supsnn", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    S = os.path.abspath(a.supsnn)
    w = os.path.abspath(a.work)
    shutil.rmtree(w, ignore_errors=True)
    os.makedirs(w)
    print(f"nir_interop: nir {nir.__version__ if hasattr(nir, '__version__') else '?'}, "
          f"torch {torch.__version__}", flush=True)

    # 1. A trained supsnn model and its traces.
    run([S, "synth", "--output", "data.h5", "--train-per-class", "40", "--test-per-class", "40",
         "--size", "48"], w)
    with open(os.path.join(w, "net.toml"), "w") as f:
        f.write(NET)
    run([S, "train", "--config", "net.toml"], w)
    print(run([S, "evaluate", "--model", "run/model.h5", "--outputs", "ref.h5", "--inputs"], w)
          .splitlines()[0], flush=True)
    with h5py.File(os.path.join(w, "ref.h5"), "r") as f:
        ref, inputs, labels = f["readout"][()], f["inputs"][()], f["labels"][()]
    steps = ref.shape[2]
    acc = np.mean(ref.sum(axis=2).argmax(axis=1) == labels)
    if acc < 0.6:
        fail(f"the trained model is at {acc:.3f} on the test split; the comparison needs a model "
             "that separates the classes")

    # 2. supsnn -> NIR -> snnTorch.
    print(run([S, "export", "--model", "run/model.h5", "--format", "nir", "--output", "m.nir"], w)
          .strip(), flush=True)
    g = nir.read(os.path.join(w, "m.nir"))  # type checking on: shapes must be consistent
    print("nir_interop: nir.read: " + ", ".join(f"{k}:{type(v).__name__}" for k, v in g.nodes.items()),
          flush=True)
    got = snntorch_traces(os.path.join(w, "m.nir"), inputs, steps)
    agree, within = compare(ref, got, "nir_interop: supsnn vs snnTorch")
    if agree < MIN_AGREE or within < MIN_TRACES:
        fail(f"snnTorch's run of the exported graph disagrees with supsnn (needs predictions "
             f">= {MIN_AGREE}, traces >= {MIN_TRACES})")

    # 3. The comparison can fail: one LIF time constant doubled.
    shutil.copy(os.path.join(w, "m.nir"), os.path.join(w, "broken.nir"))
    with h5py.File(os.path.join(w, "broken.nir"), "r+") as f:
        tau = f["node/nodes/layer4_lif/tau"]
        tau[...] = tau[()] * 2
    bad = snntorch_traces(os.path.join(w, "broken.nir"), inputs, steps)
    _, bad_within = compare(ref, bad, "nir_interop: supsnn vs snnTorch, layer 4's tau doubled")
    if bad_within > 0.5:
        fail("a wrong time constant went unnoticed: the trace comparison cannot fail")

    # 4. Round trip, both readout forms.
    run([S, "import", "--format", "nir", "m.nir", "--output", "back.h5"], w)
    same_model(os.path.join(w, "run/model.h5"), os.path.join(w, "back.h5"), "round trip")
    run([S, "evaluate", "--model", "back.h5", "--outputs", "back_out.h5"], w)
    with h5py.File(os.path.join(w, "back_out.h5"), "r") as f:
        if not np.array_equal(f["readout"][()], ref):
            fail("the re-imported model's traces differ from the original's")
    run([S, "export", "--model", "run/model.h5", "--output", "sum.nir", "--readout", "integrator"], w)
    nir.read(os.path.join(w, "sum.nir"))
    run([S, "import", "sum.nir", "--output", "back_sum.h5"], w)
    same_model(os.path.join(w, "run/model.h5"), os.path.join(w, "back_sum.h5"),
               "round trip (--readout integrator)")

    # 5. A graph from elsewhere, in snnTorch's conventions: LIF r = tau/dt (state scaled, snnTorch's
    # Leaky v = beta v + I), Linear without bias, no metadata.
    rng = np.random.default_rng(7)
    dt = 1e-4
    H = W = 32
    W1 = (rng.standard_normal((20, H * W)) * 0.08).astype(np.float32)
    b1 = (rng.standard_normal(20) * 0.1).astype(np.float32)
    W2 = (rng.standard_normal((3, 20)) * 0.5).astype(np.float32)
    tau = 3 * dt
    lif = nir.LIF(tau=np.full(20, tau), r=np.full(20, tau / dt), v_leak=np.zeros(20),
                  v_threshold=np.full(20, 1.2), v_reset=np.zeros(20))
    graph = nir.NIRGraph(
        nodes={"input": nir.Input(np.array([1, H, W])),
               "flat": nir.Flatten(input_type={"input": np.array([1, H, W])}, start_dim=0, end_dim=-1),
               "fc1": nir.Affine(W1, b1), "lif1": lif, "fc2": nir.Linear(W2),
               "output": nir.Output(np.array([3]))},
        edges=[("input", "flat"), ("flat", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "output")])
    nir.write(os.path.join(w, "foreign.nir"), graph)
    with h5py.File(os.path.join(w, "data.h5"), "r") as f:
        classes = ",".join(c.decode() if isinstance(c, bytes) else c for c in f["class_names"][()])
    run([S, "import", "foreign.nir", "--output", "foreign.h5", "--steps", str(steps), "--classes",
         classes, "--set", "data.crop=32"], w)
    run([S, "evaluate", "--model", "foreign.h5", "--data", "data.h5", "--outputs", "foreign_out.h5",
         "--inputs"], w)
    with h5py.File(os.path.join(w, "foreign_out.h5"), "r") as f:
        fref, finputs = f["readout"][()], f["inputs"][()]
    fgot = snntorch_traces(os.path.join(w, "foreign.nir"), finputs, steps)
    fagree, fwithin = compare(fref, fgot, "nir_interop: foreign graph, supsnn import vs snnTorch")
    if fagree < MIN_AGREE or fwithin < MIN_TRACES:
        fail("supsnn's import of a graph in snnTorch's conventions computes something else")

    # 6. Fine-tuning the imported model: its configuration (supsnn config --model) with
    # train.init; at a negligible learning rate the trained weights stay the imported ones.
    cfg = run([S, "config", "--model", "foreign.h5", "--set", "data.train=data.h5", "--set",
               "train.init=foreign.h5", "--set", "train.epochs=1", "--set", "optim.lr=1e-12",
               "--set", "run.dir=ft"], w)
    with open(os.path.join(w, "ft.toml"), "w") as f:
        f.write(cfg)
    log = run([S, "train", "--config", "ft.toml"], w)
    if "from foreign.h5 (train.init)" not in log:
        fail("supsnn train with train.init did not say it loaded the model:\n" + log)
    with h5py.File(os.path.join(w, "foreign.h5"), "r") as a, \
            h5py.File(os.path.join(w, "ft", "model.h5"), "r") as b:
        for k in a.keys():
            if k != "class_names" and not np.allclose(a[k][()], b[k][()], rtol=0, atol=1e-6):
                fail(f"fine-tuning from foreign.h5 did not start from its {k}")
    print("nir_interop: fine-tuning (train.init) starts from the imported weights", flush=True)
    # ... and a model of another network is refused before training.
    bad = subprocess.run([S, "train", "--config", "net.toml", "--set", "train.init=foreign.h5",
                          "--set", "run.dir=bad"], cwd=w, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    if bad.returncode == 0 or "train.init: foreign.h5: its network" not in bad.stdout:
        fail("train.init with another network was not refused:\n" + bad.stdout)
    print("nir_interop: all checks passed", flush=True)


if __name__ == "__main__":
    main()
