#!/usr/bin/env python3
"""Lists a build's CTest tests for launch/gpu-check.sh --bundle: one line per run, tab-separated
name, ranks (0: no mpirun), program (file name in the bundle's bin/) and its arguments. MPI tests
at 1 and 2 ranks (one GPU node); the SLURM integration and fuzz replays (host-only) are left out."""
import json
import os
import subprocess
import sys

build = sys.argv[1]
out = subprocess.run(["ctest", "--show-only=json-v1"], cwd=build, check=True,
                     capture_output=True, text=True).stdout
for test in json.loads(out)["tests"]:
    cmd = test.get("command", [])
    labels = next((p["value"] for p in test.get("properties", []) if p["name"] == "LABELS"), [])
    if not cmd or "slurm" in labels or "fuzz" in labels:
        continue
    ranks = 0
    if "mpi" in labels:
        ranks = int(cmd[cmd.index("-n") + 1])
        cmd = cmd[-1:]  # mpiexec -n N <flags> program
        if ranks > 2:
            continue
    print("\t".join([test["name"], str(ranks), os.path.basename(cmd[0])] + cmd[1:]))
