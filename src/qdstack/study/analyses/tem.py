"""Study analysis: particle sizes of a sample from its micrographs (``tem = [...]`` in the manifest).

One task per sample: every micrograph is sized (:func:`qdstack.analysis.tem.measure_particles`,
the first decides the shape when ``shape = "auto"``, the others follow it) and the
counted particles of all images are pooled into one distribution (mean, sd, median,
normal and log-normal fits).  The result has the keys of ``qdstack tem`` plus one entry
per image, so ``results/tem_<sample>.json`` can be given to ``qdstack simulate --sizes``.
"""

from __future__ import annotations

import math

from qdstack.study.analyses._util import fmt, png, safe_name
from qdstack.study.tasks import Task, TaskOutput


def plan(study) -> list[Task]:
    tasks = []
    for s in study.sample:
        if not s.tem:
            continue
        payload = {
            "sample": s.name,
            "images": [
                {
                    "file": str(study.path(t.file)),
                    "pixel_nm": t.pixel_nm,
                    "scale_bar_nm": t.scale_bar_nm,
                    "crop": None if t.crop is None else list(t.crop),
                    "shape": t.shape,
                    "contrast": t.contrast,
                    "threshold": t.threshold,
                    "min_size_nm": t.min_size_nm,
                }
                for t in s.tem
            ],
        }
        tasks.append(
            Task("tem", f"tem_{safe_name(s.name)}", f"Particle sizes (TEM): {s.name}", payload)
        )
    return tasks


def run(task: Task, deps: dict) -> TaskOutput:
    import numpy as np

    from qdstack.analysis.tem import fit_size_histogram, measure_particles
    from qdstack.io.image import read_image
    from qdstack.plotting.tem import plot_tem_histogram, plot_tem_overlay

    p = task.payload
    out = TaskOutput(task.name, task.kind, task.title, result={"sample": p["sample"]})
    per_image, sizes, shape = [], [], None
    border = clusters = 0
    last = None
    for k, im in enumerate(p["images"], start=1):
        micro = read_image(
            im["file"],
            pixel_nm=im["pixel_nm"],
            scale_bar_nm=im["scale_bar_nm"],
            crop=None if im["crop"] is None else tuple(im["crop"]),
        )
        wanted = im["shape"] if (im["shape"] != "auto" or shape is None) else shape
        r = measure_particles(
            micro,
            shape=wanted,
            contrast=im["contrast"],
            threshold=im["threshold"],
            min_size_nm=im["min_size_nm"],
        )
        shape = shape or r.shape
        if r.shape != shape:
            out.warnings.append(
                f"{im['file']}: sized as {r.shape}s while the first image gave {shape}s"
            )
        d = r.to_dict()
        d.pop("sizes_nm")
        d["image"] = micro.info()
        per_image.append(d)
        sizes.extend(r.sizes_nm)
        border += r.excluded_border
        clusters += r.excluded_clusters
        out.warnings.extend(f"{micro.source}: {w}" for w in r.warnings)
        out.figures[f"overlay_{k}"] = png(plot_tem_overlay(r))
        last = r
    v = np.asarray(sizes, float)
    n = int(v.size)
    sd = float(v.std(ddof=1)) if n > 1 else 0.0
    fits = fit_size_histogram(v)
    out.result.update(
        {
            "pixel_nm": per_image[0]["pixel_nm"],
            "count": n,
            "excluded": {"border": border, "unsplit_clusters": clusters},
            "shape": shape,
            "size_nm": {
                "mean": float(v.mean()),
                "mean_err": sd / math.sqrt(n),
                "sd": sd,
                "sd_err": sd / math.sqrt(2 * (n - 1)) if n > 1 else None,
                "median": float(np.median(v)),
                "median_err": 1.2533 * sd / math.sqrt(n),
            },
            "sizes_nm": [float(x) for x in v],
            "fits": {f.law: f.to_dict() for f in fits},
            "images": per_image,
        }
    )
    if len(p["images"]) == 1:
        out.figures["histogram"] = png(plot_tem_histogram(last))
    else:
        from dataclasses import replace

        pooled = replace(
            last,
            sizes_nm=tuple(float(x) for x in v),
            count=n,
            mean_nm=float(v.mean()),
            mean_err_nm=sd / math.sqrt(n),
            sd_nm=sd,
            fits=fits,
            source=p["sample"],
        )
        out.figures["histogram"] = png(
            plot_tem_histogram(
                pooled, title=f"{p['sample']}: {n} particles, {len(p['images'])} images"
            )
        )
    what = "edge" if shape == "cube" else "diameter"
    out.summary = [
        (
            "particles counted",
            f"{n} ({border} at the border, {clusters} unsplit clusters left out)",
        ),
        (
            f"mean {what}",
            f"{fmt(v.mean(), '.2f')} ± {fmt(sd / math.sqrt(n), '.2f')} nm (sd {fmt(sd, '.2f')} nm)",
        ),
        (f"median {what}", f"{fmt(float(np.median(v)), '.2f')} nm"),
    ]
    for f in fits:
        out.fit_reports[f"{f.law} fit of the size histogram"] = (
            f.fit.fit_report() if f.fit is not None else ""
        )
    out.tables["sizes"] = {"size_nm": [float(x) for x in v]}
    return out
