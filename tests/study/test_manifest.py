"""Study manifests: the example validates; every mistake names its line, key and expectation."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qdstack.errors import QdstackError
from qdstack.study.manifest import ManifestError, load_manifest, parse_manifest

EXAMPLE = Path(__file__).parents[2] / "examples" / "study_c3dt_c10dt" / "study.toml"

GOOD = """
[study]
name = "test"

[[sample]]
name = "a"
linker = "C3DT"
layers = 1

[[sample]]
name = "b"
layers = 2
gap_nm = 0.55
"""


def test_example_manifest_is_valid():
    study = load_manifest(EXAMPLE)
    assert study.study.name.startswith("CsPbBr3")
    assert len(study.sample) >= 5
    assert all(p.is_file() for p in study.input_files())
    assert study.root == EXAMPLE.parent.resolve()


def test_defaults_and_inheritance():
    study = parse_manifest(GOOD)
    a, b = study.sample
    assert study.sample_edge_nm(a) == 6.8 and study.sample_edge_sd_nm(b) == 0.5
    assert study.sample_material(a) == "CsPbBr3"
    assert study.model.calibrate is False


@pytest.mark.parametrize(
    "text, line, needle",
    [
        (GOOD.replace("layers = 2", "layers = -1"), 12, "sample[2].layers"),
        (GOOD.replace("layers = 2", 'layers = "two"'), 12, "valid integer"),
        (GOOD.replace('name = "b"', 'name = "a"'), None, "unique"),
        (GOOD.replace('linker = "C3DT"', 'linker = "C3DT"\ncolour = "red"'), 8, "colour"),
        (GOOD.replace('name = "test"', ""), None, "study.name"),
        (GOOD.replace("gap_nm = 0.55", "gap_nm = 0.55\nirf = 'a'\nirf_fwhm_ns = 0.1"), None, "irf"),
        (
            GOOD.replace(
                "layers = 1", "layers = 1\nxrd = [{file = 'x.xy', direction = 'sideways'}]"
            ),
            9,
            "in-plane",
        ),
        (
            GOOD.replace("layers = 1", "layers = 1\nangle = [{file = 'x.csv', angle_deg = 95}]"),
            9,
            "angle_deg",
        ),
        (GOOD + "\n[model]\ncalibrate = 'maybe'\n", 16, "model.calibrate"),
        ("[study]\nname = 'x'\n", None, "sample"),
        ("[study\nname = 'x'", 1, "not valid TOML"),
    ],
)
def test_bad_manifests_name_line_and_key(text, line, needle):
    with pytest.raises(ManifestError) as info:
        parse_manifest(text, "study.toml")
    msg = str(info.value)
    assert msg.startswith("study.toml: ")
    assert needle in msg
    if line is not None:
        assert f"line {line}" in msg


def test_missing_data_file_is_named(tmp_path):
    m = tmp_path / "study.toml"
    m.write_text(GOOD.replace("layers = 1", 'layers = 1\nabsorption = "abs/missing.csv"'))
    with pytest.raises(ManifestError, match=r"line 9: file 'abs/missing.csv' does not exist"):
        load_manifest(m)


def test_missing_manifest_and_folder(tmp_path):
    with pytest.raises(ManifestError, match="no such file"):
        load_manifest(tmp_path / "nope.toml")
    with pytest.raises(ManifestError, match="directory"):
        load_manifest(tmp_path)
    bad = tmp_path / "bin.toml"
    bad.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ManifestError):
        load_manifest(bad)


def test_cli_check_and_errors(run_cli, tmp_path):
    code, out, err = run_cli("study", "check", EXAMPLE)
    assert code == 0 and "absorption_C3DT" in out
    m = tmp_path / "study.toml"
    m.write_text(GOOD.replace("layers = 2", "layers = -3"))
    code, out, err = run_cli("study", "run", m, "--out", tmp_path / "o")
    assert code == 2 and err.startswith("error:") and err.count("\n") == 1
    assert "line 12" in err and "study.toml" in err
    assert not (tmp_path / "o").exists()  # nothing written for an invalid manifest


_value = st.one_of(
    st.integers(-5, 2000),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
    st.booleans(),
    st.lists(st.integers(), max_size=3),
)
_key = st.sampled_from(
    [
        "name",
        "linker",
        "layers",
        "edge_nm",
        "gap_nm",
        "absorption",
        "tpl",
        "xrd",
        "angle",
        "irf",
        "thickness_nm",
        "decays",
        "colour",
        "material",
        "temperature_K",
    ]
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    study_name=st.text(max_size=12),
    samples=st.lists(st.dictionaries(_key, _value, max_size=6), max_size=4),
    junk=st.text(max_size=40),
)
def test_fuzzed_manifests_give_clear_errors(study_name, samples, junk):
    """Random manifests: valid ones parse, invalid ones raise ManifestError, nothing else."""
    import json

    def toml_value(v):
        return json.dumps(v) if not isinstance(v, bool) else str(v).lower()

    lines = ["[study]", f"name = {json.dumps(study_name)}"]
    for s in samples:
        lines.append("[[sample]]")
        lines += [f"{k} = {toml_value(v)}" for k, v in s.items()]
    text = "\n".join(lines) + "\n" + junk
    try:
        parse_manifest(text, "fuzz.toml")
    except ManifestError as exc:
        assert str(exc).startswith("fuzz.toml: ") and "\n" not in str(exc).strip()
    except QdstackError:  # pragma: no cover - the parser raises ManifestError only
        raise


def test_linker_typo_is_an_error_with_its_line():
    """``linker = "C3TD"`` was accepted and split a series in two (issue 16, item 5)."""
    with pytest.raises(ManifestError) as info:
        parse_manifest(GOOD.replace('linker = "C3DT"', 'linker = "C3TD"'), "study.toml")
    msg = str(info.value)
    assert msg.startswith("study.toml: line 7: sample[1].linker: unknown linker 'C3TD'")
    assert "did you mean 'C3DT'?" in msg and "\n" not in msg


def test_linker_spellings_of_one_builtin_become_one_series():
    text = GOOD.replace('linker = "C3DT"', 'linker = "c3dt"').replace(
        "gap_nm = 0.55", 'linker = "1,3-propanedithiol"'
    )
    a, b = parse_manifest(text).sample
    assert a.linker == b.linker == "C3DT"
    smiles = parse_manifest(GOOD.replace('linker = "C3DT"', 'linker = "SCCCCCCCS"'))
    assert smiles.sample[0].linker == "SCCCCCCCS"  # a valid SMILES stays what it is


def test_every_error_is_named_with_its_line():
    """An unknown key in [study] was never named ('study.name: Field required; and 1 more error(s)')."""
    text = GOOD.replace('name = "test"', 'nme = "test"').replace("layers = 2", "layers = -2")
    with pytest.raises(ManifestError) as info:
        parse_manifest(text, "study.toml")
    msg = str(info.value)
    assert "more error" not in msg
    parts = msg.removeprefix("study.toml: ").split("; ")
    assert parts == [
        "line 2: study.name: Field required",
        "line 3: study.nme: unknown key (allowed: name, material, edge_nm, edge_sd_nm, description)",
        "line 12: sample[2].layers: Input should be greater than or equal to 0 (got -2)",
    ]


def test_duplicate_sample_names_are_reported_compactly():
    text = GOOD.replace('name = "b"', 'name = "a"') + '\n[[sample]]\nname = "c"\nlinker = "C10DT"\n'
    with pytest.raises(ManifestError) as info:
        parse_manifest(text, "study.toml")
    msg = str(info.value)
    assert msg == (
        "study.toml: line 11: sample[2].name: 'a' is also the name of sample[1] (line 6); "
        "sample names must be unique"
    )
    assert "linker" not in msg and len(msg) < 200


def test_pl_column_reaches_the_pl_analysis(tmp_path):
    """``pl_column`` in a manifest picks the PL column, as --column does on the command line (item 7)."""
    from qdstack.study.runner import plan_study
    from qdstack.synthetic.tpl import pl_spectrum_nm

    lam, counts = pl_spectrum_nm(2.40, 80.0, counts=3e4, seed=1)
    _, decoy = pl_spectrum_nm(2.30, 80.0, counts=3e4, seed=2)
    (tmp_path / "pl.csv").write_text(
        "Wavelength (nm),reference,sample\n"
        + "".join(f"{a:.2f},{int(c)},{int(b)}\n" for a, b, c in zip(lam, counts, decoy))
    )
    m = tmp_path / "study.toml"
    m.write_text(
        '[study]\nname = "t"\n[[sample]]\nname = "a"\npl = "pl.csv"\npl_column = "sample"\n'
    )
    study = load_manifest(m)
    (task,) = [t for t in plan_study(study) if t.kind == "pl"]
    from qdstack.study.analyses import pl as pl_analysis

    out = pl_analysis.run(task, {})
    assert abs(out.result["spectra"][0]["peak_eV"] - 2.40) < 2e-3
