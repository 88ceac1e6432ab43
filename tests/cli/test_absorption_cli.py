"""`qdstack absorption` and `qdstack coupling` end to end."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from qdstack.cli.absorption import layers_from_name
from qdstack.errors import OptionError
from qdstack.synthetic import absorption_film_spectrum

EXAMPLE = sorted(
    (__import__("pathlib").Path(__file__).parents[2] / "examples" / "absorption_c3dt").glob(
        "C3DT_N*.csv"
    )
)


def _write_film(path, peak_eV, od, seed, header='"Wavelength nm.","Abs."'):
    lam, a = absorption_film_spectrum(peak_eV, od, noise_od=1e-4, seed=seed)
    path.write_text(header + "\n" + "\n".join(f"{x:.1f},{y:.6f}" for x, y in zip(lam, a)) + "\n")
    return path


@pytest.mark.parametrize(
    "name, n",
    [
        ("C3DT_N3.csv", 3),
        ("film_3L.txt", 3),
        ("layer12.csv", 12),
        ("abs 4layers.csv", 4),
        ("2_layers_C10DT.csv", 2),
        ("sample.csv", None),
        ("Run6.csv", None),
    ],
)
def test_layers_from_file_name(name, n):
    assert layers_from_name(name) == n


def test_ambiguous_name():
    with pytest.raises(OptionError):
        layers_from_name("N2_3L.csv")


def test_example_series_json(run_json):
    d = run_json("absorption", *EXAMPLE)
    assert [s["layers"] for s in d["spectra"]] == list(range(1, 9))
    assert d["shift_meV"][0] == 0.0
    # generated with a chain of beta = 23.4 meV (examples/absorption_c3dt/make_spectra.py)
    assert d["chain_fit"]["beta_meV"] == pytest.approx(23.4, rel=0.1)
    assert d["shift_meV"][-1] == pytest.approx(-44.0, abs=1.5)
    assert d["od_vs_layers"]["r2"] > 0.99
    assert isinstance(d["saturation_layers"], int)


def test_out_folder(run_cli, tmp_path):
    out = tmp_path / "res"
    code, stdout, err = run_cli("absorption", *EXAMPLE[:4], "--out", out)
    assert code == 0, err
    d = json.loads((out / "results.json").read_text())
    assert len(d["spectra"]) == 4
    for fig in ("absorption_spectra", "shift_vs_layers", "od_vs_layers"):
        assert (out / f"{fig}.png").stat().st_size > 10_000
    assert "peak eV" in stdout and "C3DT_N1.csv" in stdout
    assert not list(out.glob(".*tmp"))  # no temporary files left behind


def test_layers_option_and_density_series(run_json, tmp_path):
    files = [
        _write_film(tmp_path / f"speed{i}.csv", 2.473, od, i)
        for i, od in enumerate([0.005, 0.01, 0.02])
    ]
    d = run_json("absorption", *files, "--layers", "1,1,1")
    assert d["chain_fit"] is None and d["saturation_layers"] is None
    assert d["peak_spread"]["std_meV"] < 1.5
    assert d["spectra"][2]["od"] > 3 * d["spectra"][0]["od"]


def test_all_columns(run_json, tmp_path):
    lam = np.arange(600.0, 399.99, -1.0)
    cols = [
        absorption_film_spectrum(
            2.473 - 0.01 * k, 0.01 * (k + 1), noise_od=1e-4, wavelength_nm=lam, seed=k
        )[1]
        for k in range(3)
    ]
    p = tmp_path / "multi.csv"
    p.write_text(
        "nm,N1,N2,N3\n"
        + "\n".join(",".join(f"{v:.6f}" for v in row) for row in zip(lam, *cols))
        + "\n"
    )
    d = run_json("absorption", p, "--all-columns", "--layers", "1-3")
    assert [s["label"] for s in d["spectra"]] == ["N1", "N2", "N3"]
    np.testing.assert_allclose(d["shift_meV"], [0, -10, -20], atol=1.0)


@pytest.mark.parametrize(
    "make, args, needle",
    [
        (lambda p: p.write_text("nm,a\n500,0.1\n501,\n502,0.3\n503,0.4\n"), [], "line 3"),
        (lambda p: p.write_bytes(b"\x00\x01\x02\x03"), [], "binary"),
        (lambda p: p.write_text(""), [], "empty"),
        (lambda p: None, [], "no such file"),
        (
            lambda p: p.write_text("nm,a\n500,0.1\n501,0.2\n502,0.3\n"),
            ["--layers", "1,2"],
            "--layers",
        ),
        (
            lambda p: p.write_text(
                "nm,a\n" + "".join(f"{500 + i},{0.001 * i}\n" for i in range(100))
            ),
            [],
            "no excitonic peak",
        ),
    ],
)
def test_bad_input_exit_2(run_cli, tmp_path, make, args, needle):
    p = tmp_path / "bad_N1.csv"
    make(p)
    code, out, err = run_cli("absorption", p, *args, "--json")
    assert code == 2
    assert out == ""
    assert err.startswith("error:") and err.count("\n") == 1
    assert needle in err
    if needle not in ("--layers",):
        assert "bad_N1.csv" in err


def test_missing_layer_count(run_cli, tmp_path):
    p = _write_film(tmp_path / "sample.csv", 2.47, 0.01, 0)
    code, _, err = run_cli("absorption", p)
    assert code == 2 and "sample.csv" in err and "--layers" in err


def test_coupling_cli(run_cli, run_json, tmp_path):
    t = tmp_path / "shifts.csv"
    d = np.array([0.42, 0.55, 0.67, 0.79, 0.92, 1.46])
    s = -50 * np.exp(-1.2 * d)
    t.write_text(
        "linker,distance_nm,shift_meV,shift_meV_err\n"
        + "\n".join(f"C{k},{x},{y:.4f},0.5" for k, (x, y) in enumerate(zip(d, s)))
        + "\n"
    )
    r = run_json("coupling", t, "--law", "amplitude", "--mass", "0.2")
    assert r["decay_per_nm"] == pytest.approx(1.2, abs=0.05)
    assert r["law"] == "amplitude" and r["mass"] == 0.2
    assert r["barrier_plausible"] is False
    for key in (
        "amplitude_meV",
        "amplitude_meV_err",
        "decay_per_nm_err",
        "barrier_eV",
        "barrier_eV_err",
        "r2",
    ):
        assert isinstance(r[key], float)
    out = tmp_path / "o"
    code, _, err = run_cli("coupling", t, "--out", out)
    assert code == 0 and (out / "coupling.png").exists()
    bad = tmp_path / "bad.csv"
    bad.write_text("distance,shift_meV\n0.5,10\n1.0,5\n")
    code, _, err = run_cli("coupling", bad)
    assert code == 2 and "distance_nm" in err and "bad.csv" in err
    code, _, err = run_cli("coupling", t, "--law", "wkb")
    assert code == 2 and "--law" in err


def test_workers_give_the_same_json(run_cli, forkable):
    if forkable:  # run in a fresh process: this one runs other threads
        return
    from qdstack._parallel import fork_workers

    # the worker path is what this test checks (one process off Linux)
    assert fork_workers(2, 8) == (2 if sys.platform.startswith("linux") else 1)
    # one process or two (the files read and fitted in a forked worker): the same output
    outs = {}
    for w in ("1", "2"):
        code, out, err = run_cli("absorption", *EXAMPLE, "--workers", w, "--json")
        assert code == 0, err
        outs[w] = out
    assert outs["2"] == outs["1"]
    code, _, err = run_cli("absorption", *EXAMPLE, "--workers", "0")
    assert code == 2 and "--workers" in err


def test_workers_report_errors_as_one_process_does(run_cli, tmp_path, forkable):
    if forkable:  # run in a fresh process: this one runs other threads
        return
    from qdstack._parallel import fork_workers

    # the worker path is what this test checks (one process off Linux)
    assert fork_workers(2, 8) == (2 if sys.platform.startswith("linux") else 1)
    # 8 files, the last 4 in the worker: a film without a peak (file 2) and an unreadable
    # file (file 7): every file is read before any fit error is reported, so the read error
    # wins, as in one process; without it, the fit error of file 2
    files = [_write_film(tmp_path / f"f_N{i + 1}.csv", 2.47 - 0.005 * i, 0.01, i) for i in range(8)]
    files[1].write_text("nm,a\n" + "".join(f"{500 + i},{0.001 * i}\n" for i in range(100)))
    files[6].write_text("nm,a\n500,0.1\n501,\n502,0.3\n")
    for w in ("1", "2"):
        code, out, err = run_cli("absorption", *files, "--workers", w, "--json")
        assert code == 2 and out == "" and err.count("\n") == 1
        assert err.startswith("error:") and "f_N7.csv" in err and "line 3" in err
    _write_film(files[6], 2.44, 0.01, 6)
    for w in ("1", "2"):
        code, _, err = run_cli("absorption", *files, "--workers", w, "--json")
        assert code == 2 and "f_N2.csv" in err and "no excitonic peak" in err


def test_reading_and_locating_import_no_lmfit(tmp_path):
    # the command reads the files and locates the peaks in a forked child while its own
    # process imports lmfit (qdstack._parallel.fork_call): that stage must not import it
    import subprocess

    code = (
        "import sys\n"
        "from qdstack.cli.absorption import _read_and_locate\n"
        f"out = _read_and_locate({[str(p) for p in EXAMPLE]!r}, None, None, None)\n"
        "assert len(out) == 8 and all(hasattr(found, 'cand') for _, found in out), out\n"
        "heavy = [m for m in ('lmfit', 'scipy.optimize', 'scipy.stats', 'matplotlib') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_command_line_equals_the_library(run_json, forkable):
    if forkable:  # run in a fresh process: this one runs other threads
        return
    # the command reads and locates in one process and fits in two; the library does
    # first_excitonic_peak in one: the same numbers, to the last digit
    from qdstack.analysis.absorption import analyse_absorption_series
    from qdstack.io.spectrum import read_spectrum

    d = run_json("absorption", *EXAMPLE, "--workers", "2")
    spectra = [read_spectrum(p, kind="absorption") for p in EXAMPLE]
    lib = analyse_absorption_series(
        spectra, list(range(1, 9)), files=[str(p) for p in EXAMPLE], workers=1
    ).to_dict()
    d.pop("warnings"), lib.pop("warnings")
    assert json.dumps(d, sort_keys=True) == json.dumps(lib, sort_keys=True)
