#!/usr/bin/env python3
"""Independent reader of supsnn's TensorBoard event files (standard library only: its own
CRC32C, TFRecord framing and protobuf wire-format parsing; no tensorflow/protobuf packages).

  python3 tests/tb_decode.py RUN_DIR --steps-per-epoch N [--image HxW]

Checks every record's framing CRCs, that the first event is file_version "brain.Event:2", that
the scalars equal RUN_DIR/metrics.csv (float32 precision, csv rounding), that steps are
epoch * N, and that every image is a PNG of the declared (and --image) size whose pixel data
inflates to height x (width + 1) bytes. Prints one line and exits 0, or the problem and 1.
"""
import argparse
import csv
import glob
import os
import struct
import sys
import zlib


def crc32c(data):
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    crc = 0xFFFFFFFF
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked(data):
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def varint(buf, pos):
    shift = result = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def parse(buf):
    """[(field, wire type, value)] of one message."""
    pos, out = 0, []
    while pos < len(buf):
        key, pos = varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            val, pos = varint(buf, pos)
        elif wire == 1:
            val, pos = struct.unpack_from("<d", buf, pos)[0], pos + 8
        elif wire == 5:
            val, pos = struct.unpack_from("<f", buf, pos)[0], pos + 4
        elif wire == 2:
            n, pos = varint(buf, pos)
            val, pos = bytes(buf[pos:pos + n]), pos + n
        else:
            raise ValueError("wire type %d" % wire)
        out.append((field, wire, val))
    if pos != len(buf):
        raise ValueError("message overruns its length")
    return out


def records(path):
    data = open(path, "rb").read()
    pos = 0
    while pos < len(data):
        header = data[pos:pos + 8]
        (length,) = struct.unpack("<Q", header)
        (len_crc,) = struct.unpack_from("<I", data, pos + 8)
        if len_crc != masked(header):
            raise ValueError("%s: bad length CRC at byte %d" % (path, pos))
        body = data[pos + 12:pos + 12 + length]
        (body_crc,) = struct.unpack_from("<I", data, pos + 12 + length)
        if body_crc != masked(body):
            raise ValueError("%s: bad data CRC at byte %d" % (path, pos))
        yield body
        pos += 12 + length + 4


def png_size(png):
    if png[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("image is not a PNG")
    pos, idat, size = 8, b"", None
    while pos < len(png):
        (n,) = struct.unpack(">I", png[pos:pos + 4])
        kind, body = png[pos + 4:pos + 8], png[pos + 8:pos + 8 + n]
        if zlib.crc32(kind + body) != struct.unpack(">I", png[pos + 8 + n:pos + 12 + n])[0]:
            raise ValueError("PNG chunk CRC mismatch")
        if kind == b"IHDR":
            w, h, depth, color = struct.unpack(">IIBB", body[:10])
            if depth != 8 or color != 0:
                raise ValueError("PNG is not 8-bit grey")
            size = (h, w)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    h, w = size
    if len(zlib.decompress(idat)) != h * (w + 1):
        raise ValueError("PNG pixel data has the wrong length")
    return size


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run_dir")
    ap.add_argument("--steps-per-epoch", type=int, required=True)
    ap.add_argument("--image", help="expected image size HxW")
    a = ap.parse_args()
    files = glob.glob(os.path.join(a.run_dir, "events.out.tfevents.*"))
    if len(files) != 1:
        raise ValueError("expected one event file in %s, found %d" % (a.run_dir, len(files)))
    scalars, images, first = {}, [], None
    for body in records(files[0]):
        ev = parse(body)
        fields = {f: v for f, _, v in ev}
        if first is None:
            first = fields.get(3)
            if not isinstance(fields.get(1), float):
                raise ValueError("first event has no wall_time")
            continue
        step = fields.get(2, 0)
        for f, _, summary in ev:
            if f != 5:
                continue
            for vf, _, value in parse(summary):
                if vf != 1:
                    continue
                v = {f2: x for f2, _, x in parse(value)}
                tag = v[1].decode()
                if 2 in v:
                    scalars.setdefault(tag, []).append((step, v[2]))
                elif 4 in v:
                    img = {f3: x for f3, _, x in parse(v[4])}
                    size = png_size(img[4])
                    if size != (img[1], img[2]) or img[3] != 1:
                        raise ValueError("%s: PNG %s vs declared %s" % (tag, size, (img[1], img[2])))
                    images.append((tag, step, size))
    if first != b"brain.Event:2":
        raise ValueError("first event's file_version is %r" % first)
    rows = list(csv.DictReader(open(os.path.join(a.run_dir, "metrics.csv"))))
    checks = {"train/loss": "train_loss", "train/accuracy": "train_accuracy",
              "test/loss": "test_loss", "test/accuracy": "test_accuracy", "lr": "lr",
              "epoch": "epoch"}
    n = 0
    for tag, column in checks.items():
        got = scalars.get(tag, [])
        if len(got) != len(rows):
            raise ValueError("%s: %d events, metrics.csv has %d epochs" % (tag, len(got), len(rows)))
        for (step, value), row in zip(got, rows):
            want = float(row[column])
            if step != int(row["epoch"]) * a.steps_per_epoch:
                raise ValueError("%s: step %d at epoch %s" % (tag, step, row["epoch"]))
            # float32 in the event, %.6f / %.6g / %.10g in the csv
            if abs(value - want) > 1e-6 + 1e-6 * abs(want):
                raise ValueError("%s at epoch %s: %r in the event file, %r in metrics.csv" %
                                 (tag, row["epoch"], value, want))
            n += 1
    if len(images) != len(rows):
        raise ValueError("%d images for %d epochs" % (len(images), len(rows)))
    if a.image:
        h, w = (int(x) for x in a.image.split("x"))
        for tag, step, size in images:
            if size != (h, w):
                raise ValueError("%s at step %d: %s, expected %dx%d" % (tag, step, size, h, w))
    print("tb_decode OK: %d scalars checked against metrics.csv, %d images %s" %
          (n, len(images), sorted({t for t, _, _ in images})))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (ValueError, KeyError, OSError, struct.error) as e:
        print("tb_decode FAILED:", e)
        sys.exit(1)
