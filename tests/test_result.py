"""The result interface every analysis and model result shares (qdstack._result.Result)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from qdstack._result import Result, Summary, Table

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def series():
    from qdstack.analysis import fit_absorption_series
    from qdstack.io import read_spectrum

    files = sorted((ROOT / "examples" / "absorption_c3dt").glob("C3DT_N*.csv"))
    return fit_absorption_series([read_spectrum(f) for f in files], range(1, 9))


def test_summary_is_the_cli_table(series, run_cli):
    files = sorted(str(f) for f in (ROOT / "examples" / "absorption_c3dt").glob("C3DT_N*.csv"))
    code, out, _err = run_cli("absorption", *files)
    assert code == 0
    text = series.summary()
    # every number the command line prints is in the text summary, row by row
    for f, shift in zip(series.films, series.shift_meV):
        assert f"{f.peak.peak_eV:.4f}" in text and f"{f.peak.peak_eV:.4f}" in out
        assert f"{shift:+.1f}" in text
    for line in text.splitlines()[-3:]:
        assert line.strip() in " ".join(out.split()), line


def test_html_table_escapes_and_lists_every_film(series):
    html = series._repr_html_()
    assert html.count("<tr>") == len(series.films) + 1
    assert "<script" not in html
    s = Summary((Table("t", ("a<b",), (("<x>",),)), "1 < 2"))
    assert "&lt;x&gt;" in s.html() and "a&lt;b" in s.html() and "1 &lt; 2" in s.html()


def test_covariance_and_correlation_match_lmfit(series):
    fit = series.chain_fit.fit
    cov = series.chain_fit.covariance
    assert cov["names"] == list(fit.var_names)
    np.testing.assert_allclose(np.array(cov["matrix"]), fit.covar)
    # correlation from lmfit's own parameter correlations (computed independently by lmfit)
    a, b = cov["names"]
    assert series.chain_fit.correl[a][b] == pytest.approx(fit.params[a].correl[b], rel=1e-9)


def test_plot_returns_a_figure_and_keeps_the_spectra(series):
    from matplotlib.figure import Figure

    assert isinstance(series.plot(), Figure)
    assert len(series.spectra) == len(series.films)
    assert series.spectra[0].energy_eV.size > 100


def test_to_json_is_to_dict_with_nan_as_null(series):
    d = json.loads(series.to_json())
    assert d["chain_fit"]["beta_meV"] == pytest.approx(series.chain_fit.beta_meV)

    class R(Result):
        def to_dict(self):
            return {"x_meV": math.nan, "y": [1.0, math.inf]}

    assert json.loads(R().to_json()) == {"x_meV": None, "y": [1.0, None]}
    assert "x_meV" in R().summary() and "n/a" in R().summary()


def test_figures_display_inline_in_ipython():
    pytest.importorskip("IPython")
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        from qdstack.plotting._base import new_figure

        fig, ax = new_figure()
        ax.plot([0, 1], [0, 1])
        data, _meta = shell.display_formatter.format(fig)
        assert data.get("image/png", b"")[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        InteractiveShell.clear_instance()
