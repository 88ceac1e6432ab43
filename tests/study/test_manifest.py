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
        (GOOD.replace("layers = 1", "layers = 1\nxrd = [{file = 'x.xy', direction = 'sideways'}]"), 9, "in-plane"),
        (GOOD.replace("layers = 1", "layers = 1\nangle = [{file = 'x.csv', angle_deg = 95}]"), 9, "angle_deg"),
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
    st.integers(-5, 2000), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8),
    st.booleans(), st.lists(st.integers(), max_size=3),
)
_key = st.sampled_from(
    ["name", "linker", "layers", "edge_nm", "gap_nm", "absorption", "tpl", "xrd", "angle", "irf",
     "thickness_nm", "decays", "colour", "material", "temperature_K"]
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
