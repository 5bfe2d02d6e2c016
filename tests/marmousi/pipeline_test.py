#!/usr/bin/python3
"""Tests of the Marmousi programs as processes (run by ctest; python3-segyio, numpy).

usage: pipeline_test.py --bin DIR --model FILE CASE
CASE is one of: segy, filter, checkpoint, bad-input, arrivals. Each case works in its own
temporary directory, prints what it measured and exits non-zero on the first failure.
"""
import argparse
import gzip
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np
import segyio

SHOT_HEADER = 128


def run(args, expect=0, cwd=None):
    """Runs a program; checks the exit code; returns (stdout, stderr)."""
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=600)
    if proc.returncode != expect:
        sys.exit(f"FAIL: {' '.join(args)} exited {proc.returncode}, expected {expect}\n"
                 f"stdout: {proc.stdout}\nstderr: {proc.stderr}")
    return proc.stdout, proc.stderr


def check(condition, message):
    if not condition:
        sys.exit("FAIL: " + message)
    print("ok:", message)


def read_shot(path):
    """Reads a shot file (docs/marmousi.md): header fields and an (ntr, ns) array."""
    with open(path, "rb") as f:
        data = f.read()
    check(data[:8] == b"FVCESHOT", f"{path} has the shot magic")
    ntr, ns, index, flags = struct.unpack_from("<IIiI", data, 16)
    dt, sx, sz, gx0, dgx, gz, fpeak, t_first = struct.unpack_from("<8d", data, 32)
    samples = np.frombuffer(data, dtype="<f4", offset=SHOT_HEADER).reshape(ntr, ns)
    return dict(ntr=ntr, ns=ns, index=index, flags=flags, dt=dt, sx=sx, sz=sz, gx0=gx0,
                dgx=dgx, gz=gz, fpeak=fpeak), samples


def write_shot(path, samples, dt, fpeak=10.0):
    ntr, ns = samples.shape
    header = bytearray(SHOT_HEADER)
    header[:8] = b"FVCESHOT"
    struct.pack_into("<IIIIiI", header, 8, 1, SHOT_HEADER, ntr, ns, 0, 0)
    struct.pack_into("<8d", header, 32, dt, 3000.0, 8.0, 425.0, 25.0, 12.0, fpeak, 0.0)
    with open(path, "wb") as f:
        f.write(bytes(header) + samples.astype("<f4").tobytes())


class Pipeline:
    def __init__(self, bin_dir, model, work):
        self.bin, self.model, self.work = bin_dir, model, work
        shutil.copy(model, os.path.join(work, "marmousi_vp.f32.gz"))

    def tool(self, name):
        return os.path.join(self.bin, "marmousi-" + name)

    def run(self, name, *args, expect=0):
        return run([self.tool(name)] + [str(a) for a in args], expect=expect, cwd=self.work)

    def path(self, name):
        return os.path.join(self.work, name)


def case_segy(p):
    p.run("resample", "--h", 40, "--pad", 20, "--out", "grid.bin")
    for shot in (0, 3):
        p.run("model", "--grid", "grid.bin", "--shot", shot, "--fpeak", 4, "--ns", 300,
              "--threads", 2, "--out", f"raw{shot}.bin")
        p.run("filter", "--in", f"raw{shot}.bin", "--out", f"f{shot}.bin")
        p.run("record", "--in", f"f{shot}.bin", "--out", f"shot{shot}.sgy")
    head, data = read_shot(p.path("f3.bin"))
    with segyio.open(p.path("shot3.sgy"), ignore_geometry=True) as f:
        check(f.tracecount == 96, "shot SEG-Y has 96 traces")
        check(len(f.samples) == 300 and f.bin[segyio.BinField.Samples] == 300, "ns = 300")
        check(f.bin[segyio.BinField.Interval] == 4000, "binary dt = 4000 us")
        check(f.bin[segyio.BinField.Format] == 5, "format 5 (IEEE float)")
        check(f.bin[segyio.BinField.SEGYRevision] == 0x0100, "revision 1.0 marker")
        text = segyio.tools.wrap(f.text[0])
        check("MARMOUSI" in text and "C 1" in text, "EBCDIC textual header decodes")
        sx_expected = 3000 + 25 * 3
        for i in (0, 50, 95):
            h = f.header[i]
            scalco = h[segyio.TraceField.SourceGroupScalar]
            check(scalco == -100, f"trace {i}: scalco -100")
            check(h[segyio.TraceField.ElevationScalar] == -100, f"trace {i}: scalel -100")
            sx = h[segyio.TraceField.SourceX] / 100.0
            gx = h[segyio.TraceField.GroupX] / 100.0
            gx_expected = sx_expected - 200 - 25 * (95 - i)
            check(sx == sx_expected, f"trace {i}: sx {sx} m")
            check(gx == gx_expected, f"trace {i}: gx {gx} m")
            check(h[segyio.TraceField.offset] == sx_expected - gx_expected,
                  f"trace {i}: offset {h[segyio.TraceField.offset]}")
            check(h[segyio.TraceField.FieldRecord] == 4, f"trace {i}: fldr 4")
            check(h[segyio.TraceField.TRACE_SEQUENCE_LINE] == i + 1, f"trace {i}: tracl")
            check(h[segyio.TraceField.TraceNumber] == i + 1, f"trace {i}: tracf")
            check(h[segyio.TraceField.CDP] == round((sx + gx) / 25.0), f"trace {i}: cdp")
            check(h[segyio.TraceField.TRACE_SAMPLE_COUNT] == 300, f"trace {i}: ns")
            check(h[segyio.TraceField.TRACE_SAMPLE_INTERVAL] == 4000, f"trace {i}: dt")
            check(h[segyio.TraceField.SourceDepth] == 800, f"trace {i}: sdepth 8 m")
            check(h[segyio.TraceField.ReceiverGroupElevation] == -1200, f"trace {i}: gelev")
            check(h[segyio.TraceField.GroupY] == 0 and h[segyio.TraceField.SourceY] == 0,
                  f"trace {i}: sy = gy = 0")
        traces = np.array([f.trace[i] for i in range(f.tracecount)])
        check(np.array_equal(traces, data), "SEG-Y samples equal the shot file's floats")
        check(np.abs(traces).max() > 0, "traces are not all zero")

    p.run("sections", "--shots", "shot*.sgy", "--grid", "grid.bin", "--offset", 500)
    _, data0 = read_shot(p.path("f0.bin"))
    for name, trace_index, position in (("zero-offset.sgy", 95, lambda sx, gx: sx),
                                        ("near-offset.sgy", 95 - 12,
                                         lambda sx, gx: (sx + gx) / 2)):
        with segyio.open(p.path(name), ignore_geometry=True) as f:
            check(f.tracecount == 2 and len(f.samples) == 300, f"{name}: 2 traces of 300")
            for k, (shot, d) in enumerate(((0, data0), (3, data))):
                h = f.header[k]
                sx = h[segyio.TraceField.SourceX] / 100.0
                gx = h[segyio.TraceField.GroupX] / 100.0
                cdpx = h[segyio.TraceField.CDP_X] / 100.0
                check(sx == 3000 + 25 * shot, f"{name} trace {k}: sx {sx}")
                check(h[segyio.TraceField.offset] == sx - gx, f"{name} trace {k}: offset")
                check(cdpx == position(sx, gx), f"{name} trace {k}: cdpx {cdpx}")
                check(h[segyio.TraceField.TRACE_SEQUENCE_LINE] == k + 1, f"{name}: tracl")
                check(h[segyio.TraceField.FieldRecord] == shot + 1, f"{name}: fldr")
                check(h[segyio.TraceField.CDP] == round(cdpx / 12.5), f"{name}: cdp")
                check(np.array_equal(f.trace[k], d[trace_index]),
                      f"{name} trace {k} equals shot {shot} trace {trace_index + 1}")
    for png in ("zero-offset.png", "near-offset.png", "velocity.png"):
        with open(p.path(png), "rb") as f:
            check(f.read(8) == b"\x89PNG\r\n\x1a\n", f"{png} is a PNG")


def trapezoid(f, c):
    f = np.abs(f)
    out = np.zeros_like(f)
    rise = (f > c[0]) & (f < c[1])
    out[rise] = np.sin(np.pi / 2 * (f[rise] - c[0]) / (c[1] - c[0])) ** 2
    out[(f >= c[1]) & (f <= c[2])] = 1
    fall = (f > c[2]) & (f < c[3])
    out[fall] = np.cos(np.pi / 2 * (f[fall] - c[2]) / (c[3] - c[2])) ** 2
    return out


def case_filter(p):
    dt, ns, corners = 0.004, 2000, (5.0, 10.0, 30.0, 40.0)
    t = np.arange(ns) * dt
    spike = np.zeros(ns)
    spike[ns // 2] = 1
    sines = {f: np.sin(2 * np.pi * f * t) for f in (2.0, 7.5, 20.0, 35.0, 50.0, 80.0)}
    traces = np.array([spike] + list(sines.values()))
    write_shot(p.path("in.bin"), traces, dt)
    p.run("filter", "--in", "in.bin", "--out", "out.bin", "--corners", "5,10,30,40")
    head, out = read_shot(p.path("out.bin"))
    check(head["flags"] & 1 == 1, "output is flagged as filtered")
    nfft = 8192
    freqs = np.fft.rfftfreq(nfft, dt)
    measured = np.abs(np.fft.rfft(out[0], nfft))
    expected = trapezoid(freqs, corners)
    error = np.max(np.abs(measured - expected))
    print(f"filter: spike response vs trapezoid, max |difference| {error:.2e}")
    check(error < 0.01, "impulse response amplitude matches the trapezoid within 0.01")
    window = slice(ns // 4, 3 * ns // 4)  # away from the trace ends
    for k, f in enumerate(sines):
        gain = np.sqrt(2 * np.mean(out[k + 1][window] ** 2))
        want = trapezoid(np.array([f]), corners)[0]
        print(f"filter: {f:5.1f} Hz sinusoid: gain {gain:.4f}, trapezoid {want:.4f}")
        check(abs(gain - want) < 0.02, f"{f} Hz sinusoid gain within 0.02 of the trapezoid")
    p.run("filter", "--in", "in.bin", "--out", "bad.bin", "--corners", "10,5,30,40", expect=2)


def case_checkpoint(p):
    p.run("resample", "--h", 8, "--pad", 30, "--out", "grid.bin")
    common = ["--grid", "grid.bin", "--shot", "40", "--fpeak", "8", "--ns", "600", "--threads",
              "1"]
    p.run("model", *common, "--out", "full.bin")
    _, reference = read_shot(p.path("full.bin"))

    def interrupted(tag, extra, send_usr1):
        ck = p.path(f"{tag}.ck")
        proc = subprocess.Popen([p.tool("model")] + [str(a) for a in common] +
                                ["--out", f"{tag}.bin", "--checkpoint", f"{tag}.ck"] + extra,
                                cwd=p.work, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.time() + 120
        if send_usr1:
            time.sleep(0.5)
            proc.send_signal(signal.SIGUSR1)
        while not os.path.exists(ck) and proc.poll() is None and time.time() < deadline:
            time.sleep(0.01)
        proc.kill()
        proc.wait()
        check(os.path.exists(ck), f"{tag}: checkpoint written before the kill")
        check(not os.path.exists(p.path(f"{tag}.bin")), f"{tag}: no output from killed run")
        out, _ = p.run("model", *common, "--out", f"{tag}.bin", "--restart", f"{tag}.ck")
        print(out.strip())
        _, resumed = read_shot(p.path(f"{tag}.bin"))
        check(np.array_equal(resumed, reference),
              f"{tag}: restarted record is bit-identical to the uninterrupted run")

    interrupted("periodic", ["--checkpoint-every", "700"], False)
    interrupted("signal", [], True)
    # A checkpoint of one shot must not be accepted for another.
    proc = subprocess.Popen([p.tool("model")] + [str(a) for a in common] +
                            ["--out", "x.bin", "--checkpoint", "other.ck",
                             "--checkpoint-every", "200"], cwd=p.work)
    while not os.path.exists(p.path("other.ck")) and proc.poll() is None:
        time.sleep(0.01)
    proc.kill()
    proc.wait()
    _, err = p.run("model", "--grid", "grid.bin", "--shot", 41, "--fpeak", 8, "--ns", 600,
                   "--restart", "other.ck", "--out", "y.bin", expect=1)
    check("different run" in err, "restart with another shot's checkpoint is refused")


def case_bad_input(p):
    _, err = p.run("resample", "--h", 50, "--pad", 10, "--expect-sha256", "0" * 64, expect=1)
    check("SHA-256" in err and "marmousi_vp.f32.gz" in err, "wrong SHA-256 is reported")
    raw = gzip.decompress(open(p.path("marmousi_vp.f32.gz"), "rb").read())
    with open(p.path("truncated.gz"), "wb") as f:
        f.write(open(p.path("marmousi_vp.f32.gz"), "rb").read()[:100000])
    _, err = p.run("resample", "--h", 50, "--pad", 10, "--in", "truncated.gz", expect=1)
    check("truncated.gz" in err and ("truncated" in err or "corrupt" in err),
          "truncated gzip is reported: " + err.strip())
    altered = bytearray(raw)
    altered[4 * 1000] ^= 0x01
    with open(p.path("altered.gz"), "wb") as f:
        f.write(gzip.compress(bytes(altered)))
    _, err = p.run("resample", "--h", 50, "--pad", 10, "--in", "altered.gz", expect=1)
    check("SHA-256" in err, "altered model fails the SHA-256 check")
    with open(p.path("short.gz"), "wb") as f:
        f.write(gzip.compress(raw[:-4]))
    _, err = p.run("resample", "--h", 50, "--pad", 10, "--in", "short.gz", expect=1)
    check("bytes" in err, "short model is reported: " + err.strip())
    _, err = p.run("resample", "--h", 50, "--pad", 10, "--in", "missing.gz", expect=1)
    check("missing.gz" in err, "missing model is named")
    p.run("resample", "--h", 50, expect=2)  # neither --pad nor --fpeak
    p.run("resample", "--h", -5, "--pad", 10, expect=2)
    p.run("resample", "--no-such-option", expect=2)
    p.run("resample", "--h", 50, "--pad", 10, "--out", "grid.bin")
    check(not any(".tmp." in n for n in os.listdir(p.work)), "no temporary files left")
    p.run("model", "--grid", "grid.bin", expect=2)  # --shot is required
    p.run("model", "--grid", "grid.bin", "--shot", "x", expect=2)
    p.run("model", "--grid", "grid.bin", "--shot", 0, "--courant", 0.7, expect=1)
    _, err = p.run("model", "--grid", "grid.bin", "--shot", 500, expect=1)
    check("outside the model" in err, "shot outside the model is reported")
    data = open(p.path("grid.bin"), "rb").read()
    with open(p.path("cut.bin"), "wb") as f:
        f.write(data[:-100])
    _, err = p.run("model", "--grid", "cut.bin", "--shot", 0, expect=1)
    check("cut.bin" in err and "truncated" in err, "truncated grid is reported")
    _, err = p.run("filter", "--in", "grid.bin", "--out", "x.bin", expect=1)
    check("not a shot file" in err, "grid given to the filter is refused")
    _, err = p.run("record", "--in", "nothing.bin", expect=1)
    check("nothing.bin" in err, "missing shot file is named")
    _, err = p.run("sections", "--shots", "none*.sgy", expect=1)
    check("none*.sgy" in err, "empty shot list is reported")
    with open(p.path("junk.sgy"), "wb") as f:
        f.write(b"x" * 100)
    _, err = p.run("sections", "--shots", "junk.sgy", expect=1)
    check("junk.sgy" in err, "non-SEG-Y input is reported")
    out, _ = p.run("model", "--help")
    check("--checkpoint-every" in out, "--help lists the options")


def first_breaks(traces, dt, fraction=0.1):
    """Time of the first sample whose |amplitude| exceeds `fraction` of the trace maximum,
    refined by linear interpolation."""
    picks = []
    for trace in traces:
        a = np.abs(trace)
        level = fraction * a.max()
        i = int(np.argmax(a > level))
        frac = (level - a[i - 1]) / (a[i] - a[i - 1]) if i > 0 else 0.0
        picks.append((i - 1 + frac) * dt)
    return np.array(picks)


def case_arrivals(p):
    """Direct wave and sea-floor refraction on the real model (resampled to 5 m)."""
    p.run("resample", "--h", 5, "--fpeak", 30, "--out", "grid.bin")
    # Receivers every 5 m from 20 m to 615 m offset (dense, for the direct wave) and the
    # survey spread (25 m, 200 to 2575 m) for the refraction; first 1.2 s only.
    shot = ["--grid", "grid.bin", "--shot", 60, "--fpeak", 30, "--ns", 300, "--threads", 2,
            "--source-depth", 5, "--receiver-depth", 5]
    p.run("model", *shot, "--receivers", 120, "--receiver-spacing", 5, "--near-offset", 20,
          "--out", "dense.bin")
    p.run("model", *shot, "--out", "spread.bin")
    grid = open(p.path("grid.bin"), "rb").read()
    nx, nz, pad = struct.unpack_from("<III", grid, 16)
    h, x0 = struct.unpack_from("<dd", grid, 32)
    v = np.frombuffer(grid, dtype="<f4", offset=64).reshape(nx, nz)

    head, dense = read_shot(p.path("dense.bin"))
    offsets = head["sx"] - (head["gx0"] + head["dgx"] * np.arange(head["ntr"]))
    picks = first_breaks(dense, head["dt"])
    # Water depth under the spread, from the model: where v leaves 1500 m/s.
    columns = ((head["gx0"] + head["dgx"] * np.arange(head["ntr"]) - x0) / h).astype(int)
    water = np.mean([np.argmax(v[c] > 1501) * h for c in columns])
    below = np.mean([v[c][np.argmax(v[c] > 1501) + 2] for c in columns])
    crossover = 2 * water * np.sqrt((below + 1500) / (below - 1500))
    print(f"arrivals: water depth {water:.0f} m, velocity below the sea floor {below:.0f} m/s, "
          f"crossover offset {crossover:.0f} m")
    direct = (offsets >= 40) & (offsets <= 0.8 * crossover)
    slope, _ = np.polyfit(offsets[direct], picks[direct], 1)
    direct_velocity = 1 / slope
    print(f"arrivals: direct wave over {direct.sum()} traces ({offsets[direct].min():.0f}-"
          f"{offsets[direct].max():.0f} m): {1 / slope:.1f} m/s")
    check(abs(1 / slope - 1500) < 0.03 * 1500, "direct wave travels at 1500 m/s within 3%")

    head, spread = read_shot(p.path("spread.bin"))
    offsets = head["sx"] - (head["gx0"] + head["dgx"] * np.arange(head["ntr"]))
    # Head waves are weak beside the direct wave: pick at 3% of the trace maximum.
    picks = first_breaks(spread, head["dt"], 0.03)
    far = (offsets >= 1.5 * crossover) & (offsets <= 1.5 * crossover + 400)
    slope, _ = np.polyfit(offsets[far], picks[far], 1)
    print(f"arrivals: refraction over offsets {offsets[far].min():.0f}-{offsets[far].max():.0f} m: "
          f"apparent velocity {1 / slope:.0f} m/s (model below the sea floor {below:.0f} m/s)")
    check(abs(1 / slope - below) < 0.1 * below,
          "refracted first arrivals travel at the velocity below the sea floor within 10%")
    check(1 / slope > direct_velocity * 1.03, "refraction is faster than the direct wave")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bin", required=True, help="directory of the marmousi-* programs")
    parser.add_argument("--model", required=True, help="marmousi_vp.f32.gz")
    parser.add_argument("case", choices=["segy", "filter", "checkpoint", "bad-input",
                                         "arrivals"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="marmousi-test-") as work:
        pipeline = Pipeline(os.path.abspath(args.bin), os.path.abspath(args.model), work)
        globals()["case_" + args.case.replace("-", "_")](pipeline)
    print("PASS")


if __name__ == "__main__":
    main()
