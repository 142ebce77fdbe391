#!/usr/bin/env python3
"""Non-spiking reference models on the soc3_e chips (docs/results.md, "population code" section).

Not part of supsnn: PyTorch checks of what the bilayer's and the deep SNN's input features allow.
Train split at 17 deg with the same kind of stratified 15 % hold-out, test split at 15 deg.
  python3 tools/feature_baselines.py nn                         # 1-nearest neighbour, grey values
  python3 tools/feature_baselines.py linear --src rf            # logistic regression, receptive field
  python3 tools/feature_baselines.py linear --src px            # ... grey values
  python3 tools/feature_baselines.py linear --src px --K 8      # ... 8 Gaussian intensity features
  python3 tools/feature_baselines.py mlp --K 8 --rot 10         # 32768 -> 128 -> 3, rotations
  python3 tools/feature_baselines.py cnn --shift 8 --epochs 60  # 3 conv layers, random shifts
Needs numpy, Pillow and torch (Debian: python3-numpy python3-pil python3-torch).
"""
import argparse
import math
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

RF = [[-0.5, -0.125, 0.125, -0.125, -0.5], [-0.125, 0.125, 0.625, 0.125, -0.125],
      [0.125, 0.625, 1.0, 0.625, 0.125], [-0.125, 0.125, 0.625, 0.125, -0.125],
      [-0.5, -0.125, 0.125, -0.125, -0.5]]


def load(root, split):
    X, y = [], []
    for ci, c in enumerate(sorted(os.listdir(f'{root}/{split}'))):
        for f in sorted(os.listdir(f'{root}/{split}/{c}')):
            X.append(np.asarray(Image.open(f'{root}/{split}/{c}/{f}'), dtype=np.float32) / 255)
            y.append(ci)
    return torch.tensor(np.array(X)), torch.tensor(y)


def holdout(y, frac=0.15, seed=1):
    g = np.random.default_rng(seed)
    tr, va = [], []
    for c in range(3):
        p = g.permutation(np.where(y.numpy() == c)[0])
        k = round(frac * len(p))
        va += list(p[:k])
        tr += list(p[k:])
    return np.sort(tr), np.sort(va)


def gauss(x, K, width):  # x in [0, 1], any shape -> (..., K)
    cent = torch.linspace(0, 1, K)
    s = width / (K - 1)
    return torch.exp(-((x[..., None] - cent) ** 2) / (2 * s * s))


def run_nn(a, Xa, ya, Xt, yt):
    A, T = Xa[:, 32:96, 32:96].flatten(1), Xt[:, 32:96, 32:96].flatten(1)
    d = (T ** 2).sum(1)[:, None] + (A ** 2).sum(1)[None] - 2 * T @ A.T
    print(f'1-NN test {(ya[d.argmin(1)] == yt).float().mean().item():.4f}')


def run_linear(a, Xa, ya, Xt, yt):
    k = torch.tensor(RF)

    def feat(X):
        X = X[:, 32:96, 32:96]
        x = torch.clamp(F.conv2d(X[:, None], k[None, None], padding=2)[:, 0] / 2.781, 0, 1) \
            if a.src == 'rf' else X
        x = x.flatten(1)
        return x if a.K == 1 else gauss(x, a.K, a.width).flatten(1)

    tr, va = holdout(ya, 0.15, a.seed)
    torch.manual_seed(a.seed)
    A, T = feat(Xa), feat(Xt)
    W = torch.zeros(A.shape[1], 3, requires_grad=True)
    b = torch.zeros(3, requires_grad=True)
    opt = torch.optim.Adam([W, b], lr=3e-3)
    for ep in range(a.epochs):
        p = torch.randperm(len(tr))
        for i in range(0, len(tr), 8):
            idx = tr[p[i:i + 8].numpy()]
            loss = F.cross_entropy(A[idx] @ W + b, ya[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        v = ((A[va] @ W + b).argmax(1) == ya[va]).float().mean().item()
        t = ((T @ W + b).argmax(1) == yt).float().mean().item()
    print(f'linear src={a.src} K={a.K} width={a.width} seed={a.seed}: val {v:.4f} test {t:.4f}')


def run_mlp(a, Xa, ya, Xt, yt):
    c = 64

    def warp(X):  # random rotation about the centre, bilinear, zeros outside
        n = X.shape[0]
        ang = (torch.rand(n) * 2 - 1) * a.rot * math.pi / 180
        co, si, z = torch.cos(ang), torch.sin(ang), torch.zeros(n)
        th = torch.stack([torch.stack([co, -si, z], 1), torch.stack([si, co, z], 1)], 1)
        g = F.affine_grid(th, (n, 1, 128, 128), align_corners=False)
        return F.grid_sample(X[:, None], g, align_corners=False)[:, 0]

    def feat(X):
        X = X[:, 64 - c // 2:64 + c // 2, 64 - c // 2:64 + c // 2]
        return gauss(X[:, None], a.K, a.width)[:, 0].permute(0, 3, 1, 2).flatten(1)

    tr, va = holdout(ya, 0.15, a.seed)
    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
    net = nn.Sequential(nn.Linear(a.K * c * c, 128), nn.ReLU(), nn.Linear(128, 3))
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=0)
    best = (-1, 0, 0)
    for ep in range(a.epochs):
        p = torch.randperm(len(tr))
        for i in range(0, len(tr), 8):
            idx = tr[p[i:i + 8].numpy()]
            x = warp(Xa[idx]) if a.rot > 0 else Xa[idx]
            loss = F.cross_entropy(net(feat(x)), ya[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            v = (net(feat(Xa[va])).argmax(1) == ya[va]).float().mean().item()
            t = (net(feat(Xt)).argmax(1) == yt).float().mean().item()
        if v >= best[0]:
            best = (v, t, ep + 1)
    print(f'mlp K={a.K} rot={a.rot} seed={a.seed}: best-val epoch {best[2]}: val {best[0]:.4f} '
          f'test {best[1]:.4f}; last test {t:.4f}')


def run_cnn(a, Xa, ya, Xt, yt):
    c = 64

    def crop(X, dx=0, dy=0):
        return X[:, None, 64 - c // 2 + dy:64 + c // 2 + dy, 64 - c // 2 + dx:64 + c // 2 + dx]

    tr, va = holdout(ya, 0.15, a.seed)
    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
    net = nn.Sequential(nn.Conv2d(1, 16, 5, 1, 2), nn.ReLU(), nn.AvgPool2d(2),
                        nn.Conv2d(16, 32, 5, 1, 2), nn.ReLU(), nn.AvgPool2d(2),
                        nn.Conv2d(32, 64, 3, 1, 1), nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(),
                        nn.Linear(64 * 4 * 4, 3))
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)

    def ev(X, y):
        with torch.no_grad():
            return (net(F.avg_pool2d(crop(X), 2)).argmax(1) == y).float().mean().item()

    for ep in range(a.epochs):
        p = torch.randperm(len(tr))
        for i in range(0, len(tr), 8):
            idx = tr[p[i:i + 8].numpy()]
            dx, dy = np.random.randint(-a.shift, a.shift + 1, 2) if a.shift else (0, 0)
            loss = F.cross_entropy(net(F.avg_pool2d(crop(Xa[idx], dx, dy), 2)), ya[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        if ep % 5 == 4:
            print(f'cnn shift={a.shift} seed={a.seed} epoch {ep + 1}: '
                  f'val {ev(Xa[va], ya[va]):.4f} test {ev(Xt, yt):.4f}', flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('model', choices=['nn', 'linear', 'mlp', 'cnn'])
    ap.add_argument('--data', default=os.path.join(
        os.environ.get('SUPSNN_SHARED_DIR', '../shared'), 'data/mstar/soc3_e'))
    ap.add_argument('--src', choices=['rf', 'px'], default='px')
    ap.add_argument('--K', type=int, default=1)
    ap.add_argument('--width', type=float, default=1.0)
    ap.add_argument('--rot', type=float, default=0.0)
    ap.add_argument('--shift', type=int, default=0)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--epochs', type=int, default=None)
    a = ap.parse_args()
    a.epochs = a.epochs or {'linear': 60, 'mlp': 30, 'cnn': 60}.get(a.model, 0)
    torch.set_num_threads(1)
    Xa, ya = load(a.data, 'train')
    Xt, yt = load(a.data, 'test')
    globals()['run_' + a.model](a, Xa, ya, Xt, yt)


if __name__ == '__main__':
    main()
