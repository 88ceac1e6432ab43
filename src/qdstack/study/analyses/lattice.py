"""Study analysis: lattice spacings of a sample's HRTEM/HAADF images (``lattice = [...]`` in the manifest)."""

from __future__ import annotations

from qdstack.study.analyses._util import fmt, png, safe_name
from qdstack.study.tasks import Task, TaskOutput


def plan(study) -> list[Task]:
    tasks = []
    for s in study.sample:
        if not s.lattice:
            continue
        payload = {
            "sample": s.name,
            "images": [
                {
                    "file": str(study.path(x.file)),
                    "pixel_nm": x.pixel_nm,
                    "crystal": x.crystal,
                    "crop": None if x.crop is None else list(x.crop),
                }
                for x in s.lattice
            ],
        }
        tasks.append(
            Task("lattice", f"lattice_{safe_name(s.name)}", f"Lattice spacings: {s.name}", payload)
        )
    return tasks


def run(task: Task, deps: dict) -> TaskOutput:
    from pathlib import Path

    from qdstack.analysis.lattice import measure_lattice
    from qdstack.io.image import read_image
    from qdstack.plotting.tem import plot_lattice_fft, plot_lattice_profile

    p = task.payload
    out = TaskOutput(task.name, task.kind, task.title, result={"sample": p["sample"], "images": []})
    for k, im in enumerate(p["images"], start=1):
        micro = read_image(
            im["file"],
            pixel_nm=im["pixel_nm"],
            crop=None if im["crop"] is None else tuple(im["crop"]),
        )
        r = measure_lattice(micro, crystal=im["crystal"])
        d = r.to_dict()
        d["image"] = micro.info()
        out.result["images"].append(d)
        out.warnings.extend(f"{micro.source}: {w}" for w in r.warnings)
        out.figures[f"fft_{k}"] = png(plot_lattice_fft(r))
        out.figures[f"profile_{k}"] = png(plot_lattice_profile(r))
        name = Path(im["file"]).name
        spacings = ", ".join(
            f"{fmt(s.d_nm, '.4f')}{' ' + s.hkl if s.hkl else ''}" for s in r.spacings[:5]
        )
        out.summary.append((f"{name}: d (nm)", spacings))
        if r.scale_factor is not None:
            out.summary.append(
                (
                    f"{name}: calibration factor vs {r.crystal}",
                    f"{fmt(r.scale_factor, '.4f')} ± {fmt(r.scale_factor_err, '.4f')}",
                )
            )
        out.tables[f"spacings_{k}"] = {
            "d_nm": [s.d_nm for s in r.spacings],
            "d_nm_err": [s.d_nm_err for s in r.spacings],
            "hkl": [s.hkl or "" for s in r.spacings],
        }
    if len(out.result["images"]) == 1:
        out.result.update({k: v for k, v in out.result["images"][0].items() if k != "image"})
    return out
