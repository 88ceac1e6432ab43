"""``qdstack tpl``: table and spectra input, contract JSON, figures, exit code 2 on bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qdstack.io.writers import write_csv
from qdstack.synthetic.tpl import TPL_TRUTH, pl_spectrum_nm, tpl_table


@pytest.fixture
def table(tmp_path):
    t = tpl_table(seed=1)
    path = tmp_path / "series.csv"
    write_csv(path, t.columns())
    return path


def test_table_json_follows_the_contract(run_json, table):
    d = run_json("tpl", table, "--fix-elo", "10,20,30")
    e = d["energy_fit"]
    for key in ("E0_eV", "A_TE_meV_per_K", "A_EP_meV", "hbar_omega_meV", "r2"):
        assert key in e and key + "_err" in e
    assert abs(e["A_TE_meV_per_K"] - TPL_TRUTH["A_TE_meV_per_K"]) < 3 * e["A_TE_meV_per_K_err"]
    rows = d["width_fits"]
    assert [r["E_LO_fixed"] for r in rows] == [False, True, True, True]
    assert [r["E_LO_meV"] for r in rows[1:]] == [10.0, 20.0, 30.0]
    for r in rows:
        assert {"E_LO_meV", "E_LO_fixed", "Gamma0_meV", "gamma_LO_meV", "r2", "aic"} <= set(r)
    assert rows[0]["corr_gamma_LO_E_LO"] is not None


def test_fix_option_and_human_output(run_cli, table):
    code, out, err = run_cli("tpl", table, "--fix", "hbar_omega_meV=18", "--fix", "E0_eV=2.395")
    assert code == 0, err
    assert "Table S1" in out and "hbar_omega_meV" in out and "(fixed)" in out


def test_spectra_with_temperatures_from_names_and_figures(run_cli, tmp_path):
    t = tpl_table((10.0, 50.0, 100.0, 150.0, 200.0, 250.0, 300.0), noise_eV=0, noise_meV=0)
    files = []
    for i, (T, pk, fw) in enumerate(zip(t.temperature_K, t.peak_eV, t.fwhm_meV)):
        lam, counts = pl_spectrum_nm(pk, fw, counts=3e4, seed=i)
        path = tmp_path / f"PL_{int(T):03d}K.csv"
        with open(path, "w") as fh:
            fh.write("Wavelength (nm),Counts\n")
            fh.writelines(f"{a:.2f},{int(b)}\n" for a, b in zip(lam, counts))
        files.append(path)
    out_dir = tmp_path / "out"
    code, out, err = run_cli("tpl", *files[::-1], "--json", "--out", out_dir)
    assert code == 0, err
    d = json.loads(out)
    assert d["temperature_K"] == [10.0, 50.0, 100.0, 150.0, 200.0, 250.0, 300.0]
    assert np.allclose(d["peak_eV"], t.peak_eV, atol=1e-3)
    assert len(d["spectra"]) == 7 and d["spectra"][0]["file"].endswith("PL_010K.csv")
    assert json.loads((out_dir / "results.json").read_text()) == d
    for stem in ("tpl_peak_energy", "tpl_linewidth", "tpl_spectra"):
        assert (out_dir / f"{stem}.png").stat().st_size > 10_000


@pytest.mark.parametrize(
    "args, message",
    [
        (["--temperatures", "10,20"], "3 spectra but 2 temperatures"),
        ([], "no temperature in the file name"),
        (["--temperatures", "10,20,x"], "'x' is not a number"),
        (["--temperatures", "10,20,30", "--fix", "E_LO=5"], "unknown parameter"),
        (["--temperatures", "10,20,30", "--fix-elo", "0"], "positive"),
    ],
)
def test_bad_options_exit_2(run_cli, tmp_path, args, message):
    files = []
    for i in range(3):
        lam, counts = pl_spectrum_nm(2.4, 60.0, seed=i)
        p = tmp_path / f"spectrum_{i}.csv"
        p.write_text("nm,counts\n" + "".join(f"{a},{int(b)}\n" for a, b in zip(lam, counts)))
        files.append(p)
    code, out, err = run_cli("tpl", *files, *args)
    assert code == 2
    assert err.startswith("error:") and message in err and len(err.strip().splitlines()) == 1


def test_malformed_table_exit_2(run_cli, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("temperature_K,peak_eV\n10,2.40\n20,2.41\n")
    code, _, err = run_cli("tpl", bad)
    assert code == 2 and "missing column(s) fwhm_meV" in err and str(bad) in err
    short = tmp_path / "short.csv"
    short.write_text("temperature_K,peak_eV,fwhm_meV\n10,2.40,50\n20,2.41,51\n300,2.44,80\n")
    code, _, err = run_cli("tpl", short)
    assert code == 2 and err.startswith("error:") and "free parameters" in err


def test_column_picks_the_pl_column_of_multi_column_spectra(run_cli, tmp_path):
    """The reader's warning offered a column choice that ``tpl`` did not have (issue 16, item 7)."""
    t = tpl_table((10.0, 80.0, 150.0, 220.0, 300.0), noise_eV=0, noise_meV=0)
    files = []
    for i, (T, pk, fw) in enumerate(zip(t.temperature_K, t.peak_eV, t.fwhm_meV)):
        lam, counts = pl_spectrum_nm(pk, fw, counts=3e4, seed=i)
        _, decoy = pl_spectrum_nm(
            pk - 0.1, fw, counts=3e4, seed=100 + i
        )  # another band, 100 meV lower
        path = tmp_path / f"PL_{int(T):03d}K.csv"
        with open(path, "w") as fh:
            fh.write("Wavelength (nm),reference,sample\n")
            fh.writelines(f"{a:.2f},{int(c)},{int(b)}\n" for a, b, c in zip(lam, counts, decoy))
        files.append(path)
    code, out, err = run_cli("tpl", *files, "--column", "sample", "--json")
    assert code == 0, err
    assert np.allclose(json.loads(out)["peak_eV"], t.peak_eV, atol=1e-3)
    assert "choose another" not in err
    code, out, err = run_cli(
        "tpl", *files, "--json"
    )  # default: column 2, with the warning naming --column
    assert code == 0
    assert np.allclose(json.loads(out)["peak_eV"], np.asarray(t.peak_eV) - 0.1, atol=2e-3)
    assert "--column" in err
    code, _, err = run_cli("tpl", *files, "--column", "nope")
    assert code == 2 and "no column named 'nope'" in err
