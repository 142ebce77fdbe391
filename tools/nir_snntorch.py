#!/usr/bin/env python3
"""Run a NIR graph in snnTorch on the inputs supsnn encoded, and compare with supsnn's readout.

  supsnn export --model RUN/model.h5 --format nir --output model.nir
  supsnn evaluate --model RUN/model.h5 --outputs out.h5 --inputs
  python tools/nir_snntorch.py model.nir out.h5 [--limit N]

Needs nir, nirtorch and snnTorch (launch/peers-venv.sh makes such an environment). Each sample
starts from reset neurons and gets its encoded image as the input at every one of the T steps
(supsnn's direct code); snnTorch's output per step is compared with supsnn's readout, and the
classes (argmax of the sum over steps) with supsnn's predictions. docs/interop.md.
"""
import argparse
import contextlib
import io
import sys
import time

import h5py
import numpy as np
import torch

import nir
from snntorch import utils as snn_utils
from snntorch.import_nir import import_from_nir

TRACE_TOL = 1e-4  # |supsnn - snnTorch| / (1 + |supsnn|) per readout value, float32 models


def snntorch_traces(nir_path, inputs, steps):
    """snnTorch's readout of the graph: (N, outputs, steps) for inputs (N, H, W, C)."""
    with contextlib.redirect_stdout(io.StringIO()):  # snnTorch prints every rescaled LIF's arrays
        net = import_from_nir(nir.read(nir_path))
    out = []
    with torch.no_grad():
        for x in inputs:
            snn_utils.reset(net)  # a new sample: every membrane back to 0
            xt = torch.tensor(np.ascontiguousarray(x.transpose(2, 0, 1))[None])  # (1, C, H, W)
            ys = []
            for _ in range(steps):
                y = net(xt)
                y = y[0] if isinstance(y, tuple) else y
                ys.append(y.reshape(-1).numpy().astype(np.float64))
            out.append(np.stack(ys, axis=1))
    return np.array(out)


def compare(ref, got, what):
    """(fraction of equal predictions, fraction of samples with every trace value within
    TRACE_TOL), printed as one line."""
    agree = np.mean(ref.sum(axis=2).argmax(axis=1) == got.sum(axis=2).argmax(axis=1))
    err = np.abs(ref - got) / (1 + np.abs(ref))
    within = np.mean(err.reshape(len(ref), -1).max(axis=1) <= TRACE_TOL)
    print(f"{what}: {len(ref)} samples, predictions agree {agree:.4f}, traces within "
          f"{TRACE_TOL:g}: {within:.4f} (largest error {err.max():.3g})", flush=True)
    return agree, within


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("graph", help="model.nir (supsnn export)")
    ap.add_argument("outputs", help="supsnn evaluate --outputs FILE --inputs")
    ap.add_argument("--limit", type=int, default=0, help="first N samples only (0: all)")
    a = ap.parse_args()
    with h5py.File(a.outputs, "r") as f:
        if "inputs" not in f:
            sys.exit(f"{a.outputs}: no 'inputs'; write it with supsnn evaluate --outputs ... --inputs")
        n = a.limit if a.limit > 0 else len(f["labels"])
        ref, inputs, labels = f["readout"][:n], f["inputs"][:n], f["labels"][:n]
    start = time.perf_counter()
    got = snntorch_traces(a.graph, inputs, ref.shape[2])
    seconds = time.perf_counter() - start
    compare(ref, got, "supsnn vs snnTorch")
    acc = np.mean(got.sum(axis=2).argmax(axis=1) == labels)
    print(f"snnTorch accuracy {acc:.4f}, supsnn {np.mean(ref.sum(axis=2).argmax(axis=1) == labels):.4f}; "
          f"snnTorch ran {len(ref)} samples at batch 1 in {seconds:.1f} s")


if __name__ == "__main__":
    main()
