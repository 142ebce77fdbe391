#!/usr/bin/env python3
"""Issue #17 diagnostic (docs/results.md): how much class information the seed's rate code and
its winner-take-all readout can carry on soc3_e, with supervised class-mean templates as the
weights (an upper reference for the unsupervised STDP stage, not a method).
    python3 tools/guide_ceiling.py        # reads data/soc3_e.h5 (supsnn prepare)
Re-implements the seed's receptive field and rate code in NumPy (spikes per chip: 3667, as
supsnn guide reports), then classifies the test split by nearest class mean of the spike counts
(cosine) and by the first threshold crossing of P_j(t) = sum_s W_j . x(s) - leak, th = max_k
#spikes(k) / divisor, W = class means scaled to mean 0.2.
"""
import h5py, numpy as np
from numpy.lib.stride_tricks import sliding_window_view
K = np.array([[-0.5,-0.125,0.125,-0.125,-0.5],[-0.125,0.125,0.625,0.125,-0.125],[0.125,0.625,1.0,0.625,0.125],
              [-0.125,0.125,0.625,0.125,-0.125],[-0.5,-0.125,0.125,-0.125,-0.5]])
def spikes(img):
    x = img.astype(np.float64) / 255.0
    p = np.pad(x, ((0,0),(2,2),(2,2)))
    pot = np.einsum('nhwij,ij->nhw', sliding_window_view(p, (5,5), axis=(1,2)), K)
    freq = np.clip(np.interp(pot, [-1.069, 2.781], [1, 20]), 1, 20)
    period = np.ceil(600 / freq)
    cnt = np.where(pot > 0, np.floor(70 / period), 0)
    return cnt.reshape(len(img), -1)
f = h5py.File('data/soc3_e.h5', 'r')
Xtr, ytr = spikes(f['train/images'][()]), f['train/labels'][()]
Xte, yte = spikes(f['test/images'][()]), f['test/labels'][()]
print('spikes per chip', Xtr.sum(1).mean())
for name, tr, te in [('counts', Xtr, Xte), ('binary', (Xtr>0)*1.0, (Xte>0)*1.0)]:
    C = np.stack([tr[ytr==c].mean(0) for c in range(3)])
    Cn = C / np.linalg.norm(C, axis=1, keepdims=True)
    pred = np.argmax(te @ Cn.T, 1)
    print(name, 'nearest class mean (cosine) test acc', (pred==yte).mean())
    # centre 48x48 only
    m = np.zeros((128,128), bool); m[40:88,40:88] = True; m = m.ravel()
    Cc = C[:, m] / np.linalg.norm(C[:, m], axis=1, keepdims=True)
    print(name, 'centre 48x48 nearest class mean test acc', (np.argmax(te[:, m] @ Cc.T, 1)==yte).mean())
    # 1-NN
    trn = tr / np.linalg.norm(tr, axis=1, keepdims=True); ten = te / np.linalg.norm(te, axis=1, keepdims=True)
    nn = ytr[np.argmax(ten @ trn.T, 1)]
    print(name, '1-NN cosine test acc', (nn==yte).mean())

def steps(img):
    x = img.astype(np.float64) / 255.0
    p = np.pad(x, ((0,0),(2,2),(2,2)))
    pot = np.einsum('nhwij,ij->nhw', sliding_window_view(p, (5,5), axis=(1,2)), K).reshape(len(img), -1)
    freq = np.clip(np.interp(pot, [-1.069, 2.781], [1, 20]), 1, 20)
    period = np.where(pot > 0, np.ceil(600 / freq), 1e9)
    return period
def wta(period, W, leak=5.0, div=3.0):
    n = len(W); T = 70; preds = []
    for per in period:
        S = np.stack([(per <= t) & (t % per == 0) for t in range(T + 1)])  # (T+1, m) bool
        counts = S.sum(1); th = counts.max() / div
        cur = S[1:].astype(np.float64) @ W.T  # (T, n)
        P = np.zeros(n); win = -1
        for t in range(T):
            P += cur[t]; P = np.where(P > 0, P - leak, P)
            if (P >= th).any(): win = int(np.argmax(P)); break
        preds.append(win)
    return np.array(preds)
per_te = steps(f['test/images'][()])
for name, tr in [('counts', Xtr)]:
    C = np.stack([tr[ytr==c].mean(0) for c in range(3)])
    W = C / C.mean(1, keepdims=True) * 0.2  # mean 0.2 per input, as guide.normalise=0.2
    pred = wta(per_te, W)
    print('WTA first crossing with class-mean templates (mean 0.2): test acc', (pred==yte).mean(), 'no winner', (pred<0).mean())
    Wc = C - C.mean(0, keepdims=True); Wc = Wc / np.abs(Wc).mean(1, keepdims=True) * 0.2 + 0.2
    pred = wta(per_te, Wc)
    print('WTA with mean-removed templates: test acc', (pred==yte).mean(), 'no winner', (pred<0).mean())
C = np.stack([Xtr[ytr==c].mean(0) for c in range(3)])
W = C / C.mean(1, keepdims=True) * 0.2
for div in [1.0, 0.5, 0.25, 0.1]:
    pred = wta(per_te, W, div=div)
    print('templates, threshold divisor', div, 'test acc %.3f' % (pred==yte).mean(), 'no winner %.3f' % (pred<0).mean())
