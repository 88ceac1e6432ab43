"""Measured particle sizes for the film model: ``qdstack tem``'s results.json (or a plain list)."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qdstack.errors import FileFormatError, OptionError

__all__ = ["MeasuredSizes", "read_sizes", "edge_pool"]


@dataclass(frozen=True)
class MeasuredSizes:
    """Sizes read from a file.

    Attributes
    ----------
    sizes_nm : ndarray
        One size per particle [nm] (edge of cubes, diameter of spheres).
    shape : str or None
        ``"cube"`` or ``"sphere"`` when the file says.
    source : str
    lognormal : dict or None
        The file's log-normal fit (``centre`` = median [nm], ``width`` = log-sd), if any.
    """

    sizes_nm: np.ndarray
    shape: str | None
    source: str
    lognormal: dict | None = None


def read_sizes(path: str | os.PathLike) -> MeasuredSizes:
    """Read ``sizes_nm`` from a ``qdstack tem`` results.json, a study's results.json, or a JSON list.

    A study's results.json (``qdstack study run``) holds one ``tem_<sample>``
    analysis per sample; with several, name one as ``results.json::tem_<sample>``.

    Raises
    ------
    FileFormatError
        Missing or unreadable file, no ``sizes_nm``, fewer than 10 sizes, a size that is not a positive number.
    """
    path = os.fspath(path)
    key = None
    if "::" in path and not Path(path).is_file():
        path, key = path.rsplit("::", 1)
    p = Path(path)
    if not p.is_file():
        raise FileFormatError("no such file", path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FileFormatError(f"not a JSON file ({exc})", path) from None
    shape = None
    lognormal = None
    if isinstance(data, dict) and isinstance(data.get("analyses"), dict):  # a study's results.json
        tem = {k: v for k, v in data["analyses"].items() if isinstance(v, dict) and "sizes_nm" in v}
        if key is not None:
            if key not in tem:
                raise FileFormatError(
                    f"has no TEM analysis {key!r} (it has: {', '.join(tem) or 'none'})", path
                )
            data = tem[key]
        elif len(tem) == 1:
            data = next(iter(tem.values()))
        else:
            raise FileFormatError(
                f"holds {len(tem)} TEM analyses ({', '.join(tem) or 'none'}); name one as FILE::NAME",
                path,
            )
    if isinstance(data, dict):
        if "sizes_nm" not in data:
            raise FileFormatError(
                "holds no 'sizes_nm' list (expected the results.json of qdstack tem)", path
            )
        values = data["sizes_nm"]
        shape = data.get("shape")
        fits = data.get("fits") or {}
        if isinstance(fits, dict) and isinstance(fits.get("lognormal"), dict):
            lognormal = fits["lognormal"]
    else:
        values = data
    if not isinstance(values, list) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in values
    ):
        raise FileFormatError("'sizes_nm' must be a list of numbers", path)
    sizes = np.asarray(values, dtype=float)
    if sizes.size < 10:
        raise FileFormatError(
            f"only {sizes.size} sizes; at least 10 are needed to stand for a distribution", path
        )
    if not np.all(np.isfinite(sizes)) or sizes.min() <= 0:
        raise FileFormatError("every size must be a positive number of nm", path)
    return MeasuredSizes(sizes_nm=sizes, shape=shape, source=path, lognormal=lognormal)


def edge_pool(
    measured: MeasuredSizes, law: str = "empirical", n_quantiles: int = 2000
) -> np.ndarray:
    """The edges the film model resamples.

    ``"empirical"``: the measured sizes themselves (bootstrap).  ``"lognormal"``:
    ``n_quantiles`` equally spaced quantiles ``exp(mu + s Phi^-1((i + 1/2)/M))`` of
    the log-normal fitted to them (the file's fit, else ``mu``, ``s`` = mean and sd of
    the log sizes), so that uniform draws from the pool follow the fitted law.
    """
    from scipy.stats import norm

    if law == "empirical":
        return np.asarray(measured.sizes_nm, float)
    if law != "lognormal":
        raise OptionError(f"unknown law {law!r}; use empirical or lognormal", "--sizes-law")
    fit = measured.lognormal
    if fit and fit.get("centre") and fit.get("width") and fit.get("converged", True):
        mu, s = math.log(float(fit["centre"])), float(fit["width"])
    else:
        logs = np.log(measured.sizes_nm)
        mu, s = float(logs.mean()), float(logs.std(ddof=1))
    q = (np.arange(n_quantiles) + 0.5) / n_quantiles
    return np.exp(mu + s * norm.ppf(q))
