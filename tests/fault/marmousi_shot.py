"""One Marmousi shot as a workflow, for the fault tests that move or lose a running shot:
the velocity model resampled, then `model` on it with a checkpoint it can resume from."""

import os
import shutil

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DATA = os.path.join(ROOT, "examples", "marmousi", "data", "marmousi_vp.f32.gz")
SHA = "f85ef42a13136274734f60cea45e9c5ea27656b258f7249124f5b276061296c5"
SIZE = 277920

# A 5 m grid at 15 Hz (1,970 x 746 cells with the pad, about 7,000 steps): one shot on one
# thread takes about 10 s here, long enough to be moved or lost mid-run; its checkpoint is
# about 12 MB.
RESAMPLE = "--in marmousi_vp.f32.gz --h 5 --fpeak 15 --out grid.bin"
MODEL = ("--grid grid.bin --shot 0 --first-shot-x 4500 --shot-spacing 250 --fpeak 15 --ns 726 "
         "--threads 1 --checkpoint ck.bin --checkpoint-every {every} --out raw.bin")


def write(tmp: str, name: str, every: int = 1000000, copy_every: str = "",
          cores: int = 1) -> str:
    """Writes the workflow (and the velocity model beside it) into tmp; returns its path.
    every: steps between the shot's own checkpoints; copy_every: a duration, to have them
    copied to another host that often."""
    os.makedirs(os.path.join(tmp, "data"), exist_ok=True)
    shutil.copyfile(DATA, os.path.join(tmp, "data", "marmousi_vp.f32.gz"))
    copy = f' copy-every="{copy_every}"' if copy_every else ""
    text = f"""<?xml version="1.0" encoding="UTF-8"?>
<workflow xmlns="urn:fvce:1" name="{name}">
  <file name="marmousi_vp.f32.gz" src="data/marmousi_vp.f32.gz" sha256="{SHA}" size="{SIZE}"/>
  <task id="resample" cmd="marmousi-resample" args="{RESAMPLE}">
    <in file="marmousi_vp.f32.gz"/>
    <out file="grid.bin"/>
  </task>
  <task id="model" cmd="marmousi-model" cores="{cores}" args="{MODEL.format(every=every)}">
    <env name="OMP_WAIT_POLICY" value="passive"/>
    <in file="grid.bin"/>
    <out file="raw.bin" result="true"/>
    <checkpoint file="ck.bin" every="{every}" signal="USR1" restart-arg="--restart"{copy}/>
  </task>
</workflow>
"""
    path = os.path.join(tmp, f"{name}.xml")
    with open(path, "w") as f:
        f.write(text)
    return path
