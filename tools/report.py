#!/usr/bin/env python3
"""Figures of a supsnn run or sweep directory (run by `supsnn report DIR`, which carries this
script inside its binary; it also runs by itself: python3 tools/report.py DIR).

Run directory (metrics.h5): accuracy.png, loss.png, confusion.png (last epoch), weights.png
(model.h5), weights_epochs.png (TensorBoard weight images at chosen epochs, when the run wrote
them), raster.png (--raster FILE from `supsnn encode`).
Dataset written by `supsnn guide` (an .h5 file with a guide group): guide_weights.png,
guide_traces.png, guide_confusion.png in <file without .h5>-figures/.
Sweep directory (bands.h5 below): <config>_accuracy_band.png, <config>_loss_band.png and, with
several configurations, comparison.png. Needs matplotlib, h5py and numpy.
"""
import argparse
import glob
import io
import os
import struct
import sys

import matplotlib

matplotlib.use("Agg")  # files only, no display
import h5py  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def save(fig, path):
    fig.tight_layout()
    tmp = path + ".tmp.png"
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    os.replace(tmp, path)  # never a half-written figure
    print("wrote", path)


def finite(a):
    return np.asarray(a, dtype=float)[np.isfinite(np.asarray(a, dtype=float))]


# ---- TensorBoard event files (images only; the framing CRCs are not checked here) ----------
def varint(buf, pos):
    shift = result = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def fields(buf):
    pos, out = 0, []
    while pos < len(buf):
        key, pos = varint(buf, pos)
        num, wire = key >> 3, key & 7
        if wire == 0:
            val, pos = varint(buf, pos)
        elif wire == 1:
            val, pos = buf[pos:pos + 8], pos + 8
        elif wire == 5:
            val, pos = buf[pos:pos + 4], pos + 4
        elif wire == 2:
            n, pos = varint(buf, pos)
            val, pos = buf[pos:pos + n], pos + n
        else:
            raise ValueError("unsupported wire type %d" % wire)
        out.append((num, val))
    return out


def tb_images(run_dir):
    """{tag: [(step, png bytes)]} and {step: epoch} from the run's event files."""
    images, epochs = {}, {}
    for path in sorted(glob.glob(os.path.join(run_dir, "events.out.tfevents.*"))):
        data = open(path, "rb").read()
        pos = 0
        while pos + 12 <= len(data):
            (length,) = struct.unpack_from("<Q", data, pos)
            rec = data[pos + 12:pos + 12 + length]
            pos += 12 + length + 4
            step = 0
            for num, val in fields(rec):
                if num == 2:
                    step = val
                if num != 5:
                    continue
                for vnum, value in fields(val):
                    if vnum != 1:
                        continue
                    f = dict(fields(value))
                    if f.get(1) == b"epoch" and 2 in f:
                        epochs[step] = int(round(struct.unpack("<f", f[2])[0]))
                    if 4 in f and 1 in f:
                        img = dict(fields(f[4]))
                        images.setdefault(f[1].decode(), []).append((step, img[4]))
    return images, epochs


# ---- one run ----------------------------------------------------------------------------------
def run_report(run_dir, figures, raster, chosen_epochs):
    with h5py.File(os.path.join(run_dir, "metrics.h5"), "r") as f:
        m = {k: f[k][()] for k in f.keys() if k not in ("class_names",)}
        classes = [c.decode() if isinstance(c, bytes) else str(c) for c in f["class_names"][()]]
    epoch = m["epoch"]

    fig, ax = plt.subplots(figsize=(6, 4))
    for key, label in (("train_accuracy", "train"), ("val_accuracy", "validation"),
                       ("test_accuracy", "test")):
        if np.isfinite(m[key]).any():
            ax.plot(epoch, m[key], marker="o", ms=3, label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.set_title("accuracy: " + os.path.basename(os.path.abspath(run_dir)))
    ax.grid(alpha=0.3)
    ax.legend()
    save(fig, os.path.join(figures, "accuracy.png"))

    fig, ax = plt.subplots(figsize=(6, 4))
    for key, label in (("train_loss", "train"), ("val_loss", "validation"), ("test_loss", "test")):
        if np.isfinite(m[key]).any():
            ax.plot(epoch, m[key], marker="o", ms=3, label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title("loss")
    ax.grid(alpha=0.3)
    ax.legend()
    save(fig, os.path.join(figures, "loss.png"))

    conf = m.get("test_confusion")
    if conf is not None and len(conf) and np.isfinite(conf[-1]).all():
        c = conf[-1]
        fig, ax = plt.subplots(figsize=(1.2 + 0.5 * len(classes), 1.0 + 0.5 * len(classes)))
        im = ax.imshow(c, cmap="Blues")
        for i in range(c.shape[0]):
            for j in range(c.shape[1]):
                ax.text(j, i, "%d" % c[i, j], ha="center", va="center",
                        color="white" if c[i, j] > c.max() / 2 else "black", fontsize=8)
        ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
        ax.set_yticks(range(len(classes)), classes)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title("test confusion, epoch %d" % epoch[-1])
        fig.colorbar(im, ax=ax)
        save(fig, os.path.join(figures, "confusion.png"))

    model = os.path.join(run_dir, "model.h5")
    if os.path.exists(model):
        weight_maps(model, classes, os.path.join(figures, "weights.png"))

    images, epoch_of = tb_images(run_dir)
    for tag, items in sorted(images.items()):
        if not tag.startswith("weights/"):
            continue
        if chosen_epochs:
            chosen = [it for it in items if epoch_of.get(it[0]) in chosen_epochs]
        else:  # first, middle and last logged epochs (all when there are at most 4)
            chosen = items if len(items) <= 4 else [items[0], items[len(items) // 2], items[-1]]
        if not chosen:
            print("no weight images at epochs %s in the event files" % sorted(chosen_epochs))
            break
        fig, axes = plt.subplots(1, len(chosen), figsize=(3.2 * len(chosen), 3.4), squeeze=False)
        for ax, (step, png) in zip(axes[0], chosen):
            ax.imshow(plt.imread(io.BytesIO(png), format="png"), cmap="gray")
            ax.set_title("epoch %s (step %d)" % (epoch_of.get(step, "?"), step))
            ax.axis("off")
        fig.suptitle(tag + " (each map scaled to its own range)")
        save(fig, os.path.join(figures, "weights_epochs.png"))
        break

    if raster:
        with h5py.File(raster, "r") as f:
            neuron, step = f["neuron"][()], f["step"][()]
            a = dict(f.attrs)
        fig, ax = plt.subplots(figsize=(7, 4))
        ax.scatter(step, neuron, s=1, marker="|", color="black")
        ax.set_xlim(0, int(a["raw_steps"]) + 1)
        # Population codes give each pixel K neurons, channel-major (K x height x width).
        channels = int(a.get("channels", 1))
        pixels = int(a["height"]) * int(a["width"])
        ax.set_ylim(0, channels * pixels)
        for c in range(1, channels):
            ax.axhline(c * pixels, color="0.7", lw=0.5)
        ax.set_xlabel("time step")
        ax.set_ylabel("input neuron (pixel)" if channels == 1
                      else "input neuron (%d population channels x pixel)" % channels)
        name = a["class_name"]
        name = name.decode() if isinstance(name, bytes) else name
        enc = a["encoder"]
        enc = enc.decode() if isinstance(enc, bytes) else enc
        ax.set_title("input spikes of %s sample %d (%s), %s code, %d spikes" %
                     (a["split"].decode() if isinstance(a["split"], bytes) else a["split"],
                      int(a["index"]), name, enc, len(neuron)))
        save(fig, os.path.join(figures, "raster.png"))


def weight_maps(model, classes, out):
    with h5py.File(model, "r") as f:
        h, w = int(f.attrs["height"]), int(f.attrs["width"])
        network = f.attrs.get("network", "")
        network = network.decode() if isinstance(network, bytes) else network
        if network == "layered" and f["layer1.W"].ndim == 4:
            # A convolutional first layer: its kernels (out, k, k, in), first input channel.
            W = f["layer1.W"][()]
            h = w = W.shape[1]
            maps = W[..., 0].reshape(W.shape[0], -1)[:16]
            titles = ["channel %d" % i for i in range(len(maps))]
            title = "first conv layer's kernels"
        elif network == "layered":
            maps = f["layer1.W"][()][:16]
            titles = ["unit %d" % i for i in range(len(maps))]
            title = "first layer's weights"
        elif "W" in f:
            W = f["W"][()]
            maps = W
            titles = [classes[i] if i < len(classes) else "output %d" % i for i in range(len(W))]
            title = "output neurons' weights"
        else:
            L = int(f.attrs["layers"])
            Ws = [f["W%d" % (l + 1)][()] for l in range(L)]
            v = np.ones(Ws[-1].shape[0])
            for Wl in reversed(Ws[1:]):
                v = np.matmul(np.abs(Wl).T, v)  # importance of a unit: |weight| path products to outputs
            top = np.argsort(-v, kind="stable")[:16]
            maps = Ws[0][top]
            titles = ["unit %d" % u for u in top]
            title = "first layer's most important units"
    if maps.shape[1] != h * w:
        return
    k = len(maps)
    cols = int(np.ceil(np.sqrt(k)))
    rows = (k + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(2.2 * cols, 2.3 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, mp, t in zip(axes.flat, maps, titles):
        ax.imshow(mp.reshape(h, w), cmap="viridis")
        ax.set_title(t, fontsize=8)
    fig.suptitle(title)
    save(fig, out)


# ---- a sweep ----------------------------------------------------------------------------------
def read_bands(path):
    with h5py.File(path, "r") as f:
        name = f.attrs["name"]
        b = {"name": name.decode() if isinstance(name, bytes) else str(name),
             "epoch": f["epoch"][()], "seeds": f["seeds"][()]}
        for key in f.keys():
            if isinstance(f[key], h5py.Group):
                b[key] = {k: f[key][k][()] for k in f[key].keys()}
    return b


def band_plot(b, metric, ylabel, out):
    if metric not in b:
        return False
    d, e = b[metric], b["epoch"]
    fig, ax = plt.subplots(figsize=(6, 4))
    for run in d["runs"]:
        ax.plot(e, run, color="gray", lw=0.6, alpha=0.5)
    ax.fill_between(e, d["min"], d["max"], color="C0", alpha=0.15, label="min-max")
    ax.fill_between(e, d["p10"], d["p90"], color="C0", alpha=0.3, label="p10-p90")
    ax.plot(e, d["mean"], color="C0", lw=2, label="mean of %d runs" % len(d["runs"]))
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.set_title(b["name"])
    ax.grid(alpha=0.3)
    ax.legend()
    save(fig, out)
    return True


def sweep_report(sweep_dir, figures):
    paths = sorted(glob.glob(os.path.join(sweep_dir, "**", "bands.h5"), recursive=True))
    bands = [read_bands(p) for p in paths]
    for b in bands:
        stem = b["name"].replace("/", "_")
        if not band_plot(b, "test_accuracy", "test accuracy",
                         os.path.join(figures, stem + "_accuracy_band.png")):
            band_plot(b, "train_accuracy", "train accuracy",
                      os.path.join(figures, stem + "_accuracy_band.png"))
        fig, ax = plt.subplots(figsize=(6, 4))
        for metric in ("train_loss", "val_loss", "test_loss"):
            if metric in b:
                d = b[metric]
                ax.fill_between(b["epoch"], d["min"], d["max"], alpha=0.2)
                ax.plot(b["epoch"], d["mean"], label=metric.replace("_", " ") + " (mean, min-max)")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.set_title(b["name"])
        ax.grid(alpha=0.3)
        ax.legend()
        save(fig, os.path.join(figures, stem + "_loss_band.png"))
    if len(bands) > 1:
        fig, ax = plt.subplots(figsize=(max(5, 1.2 * len(bands)), 4))
        means = [float(b["final_test_accuracy"]["mean"][0]) for b in bands]
        lo = [float(b["final_test_accuracy"]["ci95_low"][0]) for b in bands]
        hi = [float(b["final_test_accuracy"]["ci95_high"][0]) for b in bands]
        err = np.array([[m - l if np.isfinite(l) else 0 for m, l in zip(means, lo)],
                        [h - m if np.isfinite(h) else 0 for m, h in zip(means, hi)]])
        ax.errorbar(range(len(bands)), means, yerr=err, fmt="o", capsize=4)
        for i, b in enumerate(bands):
            ax.scatter([i] * len(b["final_test_accuracy"]["runs"]),
                       b["final_test_accuracy"]["runs"], color="gray", s=8)
        ax.set_xticks(range(len(bands)), [b["name"] for b in bands], rotation=30, ha="right")
        ax.set_ylabel("final test accuracy (mean, 95% CI)")
        ax.grid(alpha=0.3)
        save(fig, os.path.join(figures, "comparison.png"))


# ---- a dataset written by `supsnn guide` --------------------------------------------------------
def guide_report(path, figures):
    """guide_weights.png: every output neuron's weights as an image (up to 32, titled with its
    label); guide_traces.png: the mean guidance trace of each class (one panel per class, one line
    per guidance row) over the train split; guide_confusion.png: the test part's confusion."""
    with h5py.File(path, "r") as f:
        g = f["guide"]
        W = g["weights"][()]
        label = g["label"][()] if "label" in g else -np.ones(len(W), dtype=int)
        classes = [c.decode() if isinstance(c, bytes) else str(c) for c in f["class_names"][()]]
        tr = f["train"]
        h, w = int(tr.attrs["height"]), int(tr.attrs["width"])
        guide = tr["guidance"][()] if "guidance" in tr else None
        labels = tr["labels"][()]
        conf = {k[:-len("_confusion")]: g[k][()] for k in g if k.endswith("_confusion")}
    k = min(len(W), 32)
    cols = int(np.ceil(np.sqrt(k)))
    rows = (k + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(2.2 * cols, 2.3 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for j in range(k):
        ax = axes.flat[j]
        ax.imshow(W[j].reshape(h, w), cmap="viridis")
        name = classes[label[j]] if 0 <= label[j] < len(classes) else "no label"
        ax.set_title("neuron %d: %s" % (j, name), fontsize=8)
    fig.suptitle("STDP weights of the output neurons")
    save(fig, os.path.join(figures, "guide_weights.png"))
    if guide is not None:
        rows_g = guide.shape[1] if guide.ndim == 3 else 1
        fig, axes = plt.subplots(1, len(classes), figsize=(3.2 * len(classes), 2.8), squeeze=False)
        for c, ax in enumerate(axes[0]):
            sel = guide[labels == c]
            if len(sel):
                mean = sel.mean(axis=0).reshape(rows_g, -1)
                for r in range(rows_g):
                    ax.plot(np.arange(1, mean.shape[1] + 1), mean[r],
                            label=classes[r] if rows_g == len(classes) else "row %d" % r)
            ax.set_title("class %s (%d samples)" % (classes[c], len(sel)), fontsize=9)
            ax.set_xlabel("step")
        axes[0][0].set_ylabel("mean guidance potential")
        axes[0][0].legend(fontsize=7)
        save(fig, os.path.join(figures, "guide_traces.png"))
    part = "test" if "test" in conf else ("validation" if "validation" in conf else None)
    if part:
        m = conf[part]
        fig, ax = plt.subplots(figsize=(1.0 + 0.6 * m.shape[1], 1.0 + 0.6 * m.shape[0]))
        ax.imshow(m, cmap="Blues")
        for (i, j), v in np.ndenumerate(m):
            ax.text(j, i, str(int(v)), ha="center", va="center", fontsize=8)
        ax.set_xticks(range(m.shape[1]), classes + ["none"], rotation=45)
        ax.set_yticks(range(m.shape[0]), classes)
        ax.set_xlabel("predicted (winner's label)")
        ax.set_ylabel("true")
        ax.set_title("STDP stage, %s part" % part)
        save(fig, os.path.join(figures, "guide_confusion.png"))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dir")
    p.add_argument("--figures", help="output folder (a dataset written by supsnn guide)")
    p.add_argument("--raster", help="raster HDF5 written by `supsnn encode`")
    p.add_argument("--epochs", default="", help="epochs of the weight images, e.g. 1,10,25")
    a = p.parse_args()
    if os.path.isfile(a.dir):
        figures = a.figures or os.path.splitext(a.dir)[0] + "-figures"
        os.makedirs(figures, exist_ok=True)
        guide_report(a.dir, figures)
        return 0
    figures = os.path.join(a.dir, "figures")
    os.makedirs(figures, exist_ok=True)
    if os.path.exists(os.path.join(a.dir, "metrics.h5")):
        chosen = {int(e) for e in a.epochs.split(",") if e.strip()}
        run_report(a.dir, figures, a.raster, chosen)
    else:
        sweep_report(a.dir, figures)


if __name__ == "__main__":
    sys.exit(main())
