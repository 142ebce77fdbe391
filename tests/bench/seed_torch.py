#!/usr/bin/env python3
"""PyTorch baseline of the seed bilayer SNN, written the way a PyTorch user would write it.

Dense float32 spike tensors (batch, m, T+1), W @ x for the raw input current, linear time
interpolation of the current onto steps+1 points, an explicit Python loop over time for the integrator
P(s) = P(s-1) + I(s) - D, a Huber loss of the label row against its guidance trace, autograd
and torch.optim.Adam. One CPU thread by default. Prints one line per batch size:

    torch-<variant> <density> <batch> <samples/s>

Usage: seed_torch.py --density 0.007 --batches 1,8,64 [--seconds 3] [--threads 1]
                     [--variant current|inputs]
Inputs are independent Bernoulli spikes of the given density at the seed's geometry
(m = 128 x 128, T = 70, steps = 100, n = 3), as `supsnn bench --train --density` uses.
"""
import argparse
import time

import torch


def interpolation_matrix(T, steps):
    """(T+1, steps+1): column s holds the weights of the raw samples at time s*T/steps."""
    M = torch.zeros(T + 1, steps + 1)
    for s in range(steps + 1):
        k0, rem = divmod(s * T, steps)
        f = rem / steps
        M[k0, s] += 1 - f
        if f > 0:
            M[k0 + 1, s] += f
    return M


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--density", type=float, default=0.007)
    ap.add_argument("--batches", default="1,8,64")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--variant", choices=["current", "inputs"], default="current",
                    help="interpolate the current (cheap) or the inputs (the seed's order)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    m, n, T, steps, leak = 128 * 128, 3, 70, 100, 0.005
    interp = interpolation_matrix(T, steps)
    for B in [int(b) for b in a.batches.split(",")]:
        W = torch.nn.Parameter(torch.rand(n, m))
        opt = torch.optim.Adam([W], lr=1e-4)
        pool = 4  # a few batches of inputs, made before timing
        xs = [(torch.rand(B, m, T + 1) < a.density).float() for _ in range(pool)]
        labels = [torch.randint(0, n, (B,)) for _ in range(pool)]
        guides = [40 * (torch.rand(B, n, steps + 1) - 0.3) for _ in range(pool)]

        def step(i):
            if a.variant == "inputs":  # as the seed's graph: interpolate the inputs, then W @ x
                current = torch.einsum("ji,bis->bjs", W, xs[i % pool] @ interp)
            else:  # W @ x first, then interpolate the (B, n, T+1) current (equal: linear)
                current = torch.einsum("ji,bik->bjk", W, xs[i % pool]) @ interp
            P = [torch.zeros(B, n)]
            for s in range(1, steps + 1):
                P.append(P[-1] + current[:, :, s] - leak)
            P = torch.stack(P, dim=2)                       # (B, n, steps+1)
            rows = torch.arange(B)
            loss = torch.nn.functional.huber_loss(
                P[rows, labels[i % pool]], guides[i % pool][rows, labels[i % pool]], delta=1.0)
            opt.zero_grad()
            loss.backward()
            opt.step()

        step(0)  # warm-up
        done, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < a.seconds or done < 3:
            step(done)
            done += 1
        rate = done * B / (time.perf_counter() - t0)
        print(f"torch-{a.variant} {a.density:g} {B} {rate:.1f}", flush=True)


if __name__ == "__main__":
    main()
