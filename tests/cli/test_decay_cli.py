"""``qdstack decay``: contract JSON, every reader, series, figures, exit code 2 on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qdstack.synthetic.decay import measured_like_irf_shape, simulate_decay

DATA = Path(__file__).resolve().parents[1] / "data" / "decay"
CONTRACT = (
    "components",
    "tau_amplitude_weighted_ns",
    "tau_intensity_weighted_ns",
    "shift_ns",
    "background",
    "chi2_reduced",
)


def test_text_decay_with_measured_irf(run_json):
    d = run_json("decay", DATA / "decay_ns.csv", "--irf", DATA / "irf_ns.csv")
    for key in CONTRACT:
        assert key in d
    (c,) = d["components"]
    assert {"amplitude", "tau_ns", "tau_ns_err"} <= set(c)
    assert c["amplitude"] == pytest.approx(1.0)
    assert abs(c["tau_ns"] - 2.0) < 3 * c["tau_ns_err"]
    assert d["tau_amplitude_weighted_ns"] == pytest.approx(c["tau_ns"])
    assert d["statistic"] == "poisson" and 0.7 < d["chi2_reduced"] < 1.4
    assert d["irf_file"].endswith("irf_ns.csv")


@pytest.mark.parametrize(
    "name, args, tau, periodic",
    [
        ("decay_t3.ptu", ["--irf-fwhm-ns", "0.25"], 2.5, True),
        ("decay_t3.ptu", ["--irf-fwhm-ns", "0.25", "--channel", "1"], 1.2, True),
        ("decay_t2.ptu", ["--irf-fwhm-ns", "0.25", "--t2-bin-ns", "0.05"], 3.0, True),
        ("decay.phu", ["--irf-fwhm-ns", "0.25"], 4.0, True),
        ("decay_2ch_ps.tsv", ["--irf-fwhm-ns", "0.25"], 3.0, False),
    ],
)
def test_every_format_fits(run_json, name, args, tau, periodic):
    d = run_json("decay", DATA / name, *args)
    got = d["components"][0]
    assert abs(got["tau_ns"] - tau) < 4 * got["tau_ns_err"] + 0.03 * tau
    assert d["periodic"] is periodic
    assert d["reader"]["file"].endswith(name)


def test_sdt_two_components_and_out_folder(run_cli, tmp_path):
    out = tmp_path / "fit"
    code, stdout, err = run_cli(
        "decay", DATA / "decay.sdt", "--irf-fwhm-ns", "0.25", "-k", "2", "--json", "--out", out
    )
    assert code == 0, err
    d = json.loads(stdout)
    taus = [c["tau_ns"] for c in d["components"]]
    assert taus[0] == pytest.approx(0.7, rel=0.25) and taus[1] == pytest.approx(5.0, rel=0.1)
    assert sum(c["amplitude"] for c in d["components"]) == pytest.approx(1.0)
    assert json.loads((out / "results.json").read_text()) == d
    assert (out / "decay_fit.png").stat().st_size > 20_000


def test_human_summary(run_cli):
    code, out, err = run_cli(
        "decay", DATA / "decay_ns.csv", "--irf", DATA / "irf_ns.csv", "--statistic", "neyman"
    )
    assert code == 0, err
    assert (
        "amplitude-weighted <tau>" in out and "intensity-weighted <tau>" in out and "neyman" in out
    )


def test_series_writes_table_and_figure(run_cli, tmp_path):
    irf = measured_like_irf_shape(fwhm_ns=0.25, t0_ns=1.5)
    files = []
    for i, (T, tau) in enumerate(((300, 2.0), (10, 6.0), (100, 4.0))):
        sd = simulate_decay(
            (1.0,),
            (tau,),
            signal_counts=3e4,
            background=1,
            n_bins=400,
            bin_width_ns=0.05,
            irf=irf,
            seed=i,
            irf_counts=1e5,
        )
        p = tmp_path / f"PL_{T:03d}K.csv"
        p.write_text(
            "time_ns,counts\n"
            + "".join(f"{a:.3f},{int(b)}\n" for a, b in zip(sd.time_ns, sd.counts))
        )
        files.append(p)
        if i == 0:
            irf_path = tmp_path / "irf.csv"
            irf_path.write_text(
                "time_ns,counts\n"
                + "".join(f"{a:.3f},{int(b)}\n" for a, b in zip(sd.time_ns, sd.irf_counts))
            )
    out = tmp_path / "series"
    code, stdout, err = run_cli(
        "decay",
        "--series",
        *files,
        "--irf",
        irf_path,
        "--scheduler",
        "serial",
        "--json",
        "--out",
        out,
    )
    assert code == 0, err
    d = json.loads(stdout)
    assert d["temperature_K"] == [10.0, 100.0, 300.0]
    taus = [x["components"][0]["tau_ns"] for x in d["decays"]]
    assert taus == pytest.approx([6.0, 4.0, 2.0], rel=0.05)
    table = (out / "lifetime_vs_T.csv").read_text().splitlines()
    assert table[0].startswith("temperature_K,file,tau_amplitude_weighted_ns") and len(table) == 4
    for stem in ("lifetime_vs_T", "decays_vs_T", "decay_fits"):
        assert (out / f"{stem}.png").exists()


def test_real_ptu_file(real_data, run_json):
    d = run_json(
        "decay", real_data / "tcspc" / "hydraharp_v20_t3.ptu", "--irf-fwhm-ns", "0.25", "-k", "2"
    )
    assert d["periodic"] and d["period_ns"] == pytest.approx(200.0016, rel=1e-5)
    assert d["reader"]["photons"] == 45012
    assert 0.8 < d["chi2_reduced"] < 1.3
    assert any("UsrHeadName" in n for n in d["notes"])


def _csv(tmp_path, name, rows):
    p = tmp_path / name
    p.write_text("time_ns,counts\n" + "".join(f"{a},{b}\n" for a, b in rows))
    return p


@pytest.mark.parametrize(
    "make, args, message",
    [
        (
            lambda t: _csv(t, "neg.csv", [(0.05 * i, -2 if i == 30 else 50) for i in range(100)]),
            [],
            "negative counts",
        ),
        (
            lambda t: _csv(
                t, "frac.csv", [(0.05 * i, 10.5 if i == 12 else 50) for i in range(100)]
            ),
            [],
            "non-integer counts",
        ),
        (lambda t: DATA / "decay_ns.csv", ["--window-ns", "5,5.2"], "window"),
        (lambda t: DATA / "decay_ns.csv", ["--window-ns", "5"], "START,END"),
        (lambda t: DATA / "decay_ns.csv", ["--components", "2", "--channel", "3"], "channel 3"),
        (lambda t: DATA / "decay_t3.ptu", ["--period-ns", "-1"], "period"),
        (lambda t: DATA / "decay_ns.csv", ["--statistic", "chi"], "unknown statistic"),
    ],
)
def test_bad_input_exit_2(run_cli, tmp_path, make, args, message):
    path = make(tmp_path)
    extra = [] if "--irf-fwhm-ns" in args else ["--irf-fwhm-ns", "0.25"]
    code, out, err = run_cli("decay", path, *extra, *args)
    assert code == 2, err
    assert err.startswith("error:") and message in err and len(err.strip().splitlines()) == 1
    assert out == ""


def test_mismatched_irf_axis_exit_2(run_cli, tmp_path):
    irf = tmp_path / "irf_100ps.csv"
    irf.write_text(
        "time_ns,counts\n"
        + "".join(f"{0.1 * i:.1f},{1000 if i == 20 else 1}\n" for i in range(100))
    )
    code, _, err = run_cli("decay", DATA / "decay_ns.csv", "--irf", irf)
    assert code == 2 and str(irf) in err and "ps wide" in err
    code, _, err = run_cli(
        "decay", DATA / "decay_ns.csv", "--irf", DATA / "irf_ns.csv", "--irf-fwhm-ns", "0.2"
    )
    assert code == 2 and "either" in err
    code, _, err = run_cli(
        "decay", DATA / "decay_ns.csv", DATA / "irf_ns.csv", "--irf-fwhm-ns", "0.2"
    )
    assert code == 2 and "--series" in err
