"""Study manifests: one TOML file that lists the samples of a study and their measurements.

A manifest is validated with pydantic; every error names the file, the line,
the key and what was expected.  Relative paths resolve against the manifest's
folder.  The schema (see the README for a complete example)::

    [study]
    name = "C3DT vs C10DT multilayers"      # required
    material = "CsPbBr3"                    # default for samples
    edge_nm = 6.8                           # default dot edge [nm]
    edge_sd_nm = 0.5                        # default size spread [nm]
    description = "..."

    [model]                                 # optional: the film model
    calibrate = true                        # calibrate on this study's own shifts

    [[sample]]
    name = "C3DT, 2 layers"                 # required, unique
    linker = "C3DT"                         # or gap_nm = 0.55
    layers = 2
    absorption = "abs/C3DT_N2.csv"          # first excitonic peak -> series per linker
    absorption_column = "Abs."              # column of a multi-column file (name or 0-based index)
    pl_column = "600 s"                     # the same for every PL spectrum (pl, tpl, angle)
    thickness_nm = 130.0                    # measured (SEM) thickness, with
    thickness_err_nm = 10.0                 # its error -> film thickness z-score
    pl = "pl/room_temperature.csv"          # one PL spectrum -> peak, FWHM, intensity
    tpl = [ {file = "pl/PL_010K.csv", temperature_K = 10}, ... ]   # or tpl_table = "tpl.csv"
    decays = [ {file = "trpl/T010.csv", temperature_K = 10}, ... ]
    irf = "trpl/irf.csv"                    # or irf_fwhm_ns = 0.1
    xrd = [ {file = "xrd/oop.xy", direction = "out-of-plane"}, ... ]
    angle = [ {file = "apl/000.csv", angle_deg = 0}, ... ]
    plqy = {empty = "plqy/A.csv", out_of_beam = "plqy/B.csv", in_beam = "plqy/C.csv",
            response = "plqy/response.csv"}   # integrating sphere (de Mello 1997)
    dipcoat = {table = "dip/speeds.csv", target_od = 0.02}   # or x_column = "diglyme_fraction"
    tem = [ {file = "tem/grid1.dm4", shape = "cube"}, ... ]   # or tem = "tem/grid1.dm4"
    lattice = [ {file = "hrtem/fringes.dm4", crystal = "CsPbBr3"}, ... ]
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from qdstack.errors import InputError

__all__ = [
    "Study",
    "StudyInfo",
    "Sample",
    "ModelOptions",
    "FileAt",
    "DecayFile",
    "XrdFile",
    "AngleFile",
    "PlqyFiles",
    "DipcoatTable",
    "TemFile",
    "LatticeFile",
    "load_manifest",
    "parse_manifest",
    "ManifestError",
]


class ManifestError(InputError):
    """A manifest that cannot be read or does not follow the schema."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


PositiveFloat = Annotated[float, Field(gt=0)]


class FileAt(_Strict):
    """A spectrum measured at one temperature."""

    file: Path
    temperature_K: Annotated[float, Field(gt=0, le=2000)]


class DecayFile(_Strict):
    """A PL decay measured at one temperature (optionally its own IRF and channel)."""

    file: Path
    temperature_K: Annotated[float, Field(gt=0, le=2000)] | None = None
    irf: Path | None = None
    channel: Annotated[int, Field(ge=0)] | None = None


class XrdFile(_Strict):
    """A scattering profile, the direction it probes, and where to look for peaks."""

    file: Path
    direction: Literal["in-plane", "out-of-plane"]
    wavelength_nm: PositiveFloat | None = None
    qmin_per_nm: PositiveFloat | None = None
    qmax_per_nm: PositiveFloat | None = None
    peaks: Annotated[int, Field(ge=1, le=6)] = 1
    scan: Annotated[int, Field(ge=1)] | None = None


class AngleFile(_Strict):
    """A PL spectrum at one detection angle."""

    file: Path
    angle_deg: Annotated[float, Field(ge=0, lt=90)]


class PlqyFiles(_Strict):
    """Three integrating-sphere spectra (de Mello et al. 1997) and their options."""

    empty: Path
    out_of_beam: Path
    in_beam: Path
    response: Path | None = None
    laser_window_nm: tuple[PositiveFloat, PositiveFloat] | None = None
    emission_window_nm: tuple[PositiveFloat, PositiveFloat] | None = None
    noise: Literal["counts", "baseline"] = "counts"

    @model_validator(mode="after")
    def _windows(self):
        for name in ("laser_window_nm", "emission_window_nm"):
            w = getattr(self, name)
            if w is not None and w[0] == w[1]:
                raise ValueError(f"{name} needs two different wavelengths")
        return self


class DipcoatTable(_Strict):
    """A dip-coating series: amount (OD or coverage) vs withdrawal speed, or vs an additive fraction."""

    table: Path
    target_od: PositiveFloat | None = None
    target_coverage: PositiveFloat | None = None
    x_column: Annotated[str, Field(min_length=1)] | None = None

    @model_validator(mode="after")
    def _one_target(self):
        if self.target_od is not None and self.target_coverage is not None:
            raise ValueError("give either target_od or target_coverage, not both")
        return self


class TemFile(_Strict):
    """A micrograph to size particles on (options of ``qdstack tem``)."""

    file: Path
    pixel_nm: PositiveFloat | None = None
    scale_bar_nm: PositiveFloat | None = None
    crop: tuple[int, int, int, int] | None = None
    shape: Literal["auto", "cube", "sphere"] = "auto"
    contrast: Literal["auto", "dark", "bright"] = "auto"
    threshold: Literal["otsu", "local"] = "otsu"
    min_size_nm: PositiveFloat | None = None

    @model_validator(mode="after")
    def _one_calibration(self):
        if self.pixel_nm is not None and self.scale_bar_nm is not None:
            raise ValueError("give either pixel_nm or scale_bar_nm, not both")
        if self.crop is not None:
            x0, y0, x1, y1 = self.crop
            if min(self.crop) < 0 or x1 <= x0 or y1 <= y0:
                raise ValueError(
                    "crop is [x0, y0, x1, y1] in pixels with x1 > x0 >= 0 and y1 > y0 >= 0"
                )
        return self


class LatticeFile(_Strict):
    """An HRTEM/HAADF image to read lattice spacings from (options of ``qdstack lattice``)."""

    file: Path
    pixel_nm: PositiveFloat | None = None
    crystal: str | None = None
    crop: tuple[int, int, int, int] | None = None

    @field_validator("crystal")
    @classmethod
    def _known_crystal(cls, value):
        if value is not None:
            from qdstack.analysis.lattice import parse_crystal
            from qdstack.errors import OptionError

            try:
                parse_crystal(value)
            except OptionError as exc:
                raise ValueError(exc.message) from None
        return value


def _files_list(value):
    """``"a.dm4"`` or ``["a.dm4", ...]`` -> ``[{"file": "a.dm4"}, ...]`` (tables pass through)."""
    if isinstance(value, (str, Path)):
        return [{"file": value}]
    if isinstance(value, list):
        return [{"file": v} if isinstance(v, (str, Path)) else v for v in value]
    return value


class StudyInfo(_Strict):
    """The ``[study]`` table."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    material: str = "CsPbBr3"
    edge_nm: PositiveFloat = 6.8
    edge_sd_nm: Annotated[float, Field(ge=0)] = 0.5
    description: str = ""


class ModelOptions(_Strict):
    """The ``[model]`` table: whether to calibrate the film model on the study's shifts."""

    calibrate: bool = False
    parameter_set: str = "enomoto2024"


class Sample(_Strict):
    """One ``[[sample]]``: a film (or solution) and the files measured on it."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    material: str | None = None
    linker: str | None = None
    gap_nm: Annotated[float, Field(ge=0, lt=20)] | None = None
    layers: Annotated[int, Field(ge=0, le=1000)] = 1
    edge_nm: PositiveFloat | None = None
    edge_sd_nm: Annotated[float, Field(ge=0)] | None = None
    temperature_K: Annotated[float, Field(gt=0, le=2000)] | None = None
    absorption: Path | None = None
    absorption_column: str | int | None = None
    pl_column: str | int | None = None
    thickness_nm: PositiveFloat | None = None
    thickness_err_nm: PositiveFloat | None = None
    pl: Path | None = None
    tpl: tuple[FileAt, ...] = ()
    tpl_table: Path | None = None
    tpl_fix_elo_meV: tuple[PositiveFloat, ...] = ()
    decays: tuple[DecayFile, ...] = ()
    decay_components: Annotated[int, Field(ge=1, le=4)] = 2
    irf: Path | None = None
    irf_fwhm_ns: PositiveFloat | None = None
    xrd: tuple[XrdFile, ...] = ()
    angle: tuple[AngleFile, ...] = ()
    plqy: PlqyFiles | None = None
    dipcoat: DipcoatTable | None = None
    tem: tuple[TemFile, ...] = ()
    lattice: tuple[LatticeFile, ...] = ()

    @field_validator("tem", "lattice", mode="before")
    @classmethod
    def _file_shorthand(cls, value):
        return _files_list(value)

    @field_validator("linker")
    @classmethod
    def _known_linker(cls, value):
        return None if value is None else _check_linker(value)

    @model_validator(mode="after")
    def _consistent(self):
        if self.irf is not None and self.irf_fwhm_ns is not None:
            raise ValueError("give either irf or irf_fwhm_ns, not both")
        if self.thickness_err_nm is not None and self.thickness_nm is None:
            raise ValueError("thickness_err_nm needs thickness_nm")
        if self.tpl and self.tpl_table is not None:
            raise ValueError("give either tpl (spectra) or tpl_table, not both")
        if (
            self.decays
            and self.irf is None
            and self.irf_fwhm_ns is None
            and any(d.irf is None for d in self.decays)
        ):
            raise ValueError(
                "decays need an IRF: give irf (a file), irf_fwhm_ns, or irf for each decay"
            )
        if len(self.xrd) != len({x.direction for x in self.xrd}):
            raise ValueError("xrd lists the same direction twice")
        temps = [t.temperature_K for t in self.tpl]
        if len(set(temps)) != len(temps):
            raise ValueError("tpl lists the same temperature twice")
        return self


def _check_linker(text: str) -> str:
    """A built-in linker's canonical name, or a valid SMILES; anything else is an error.

    The same lookup as ``qdstack linker`` and ``--linker``: names are matched ignoring
    case, spaces and punctuation (``c3dt`` and ``1,3-propanedithiol`` are ``C3DT``, so
    they land in one series); a typo such as ``C3TD`` is neither a name nor a SMILES.
    """
    from qdstack.linkers.library import DEFINITIONS, find_definition

    text = text.strip()
    found = find_definition(text)
    if found is not None:
        return found.name
    if text and _is_smiles(text):
        return text
    import difflib

    names = [d.name for d in DEFINITIONS]
    close = difflib.get_close_matches(text.upper(), names, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ValueError(
        f"unknown linker {text!r}: not a built-in name ({', '.join(names)}) and not a valid SMILES{hint}"
    )


def _is_smiles(text: str) -> bool:
    """Whether RDKit parses ``text`` as a molecule (its error log silenced)."""
    try:
        from rdkit import Chem, RDLogger
    except ImportError:  # pragma: no cover - RDKit is a core dependency
        return True
    RDLogger.DisableLog("rdApp.*")
    try:
        return Chem.MolFromSmiles(text) is not None
    finally:
        RDLogger.EnableLog("rdApp.*")


class Study(_Strict):
    """A whole study: ``[study]``, optional ``[model]``, and ``[[sample]]`` entries."""

    study: StudyInfo
    model: ModelOptions = ModelOptions()
    sample: tuple[Sample, ...] = Field(min_length=1)
    #: folder relative paths resolve against (set by the loader, not in the TOML)
    root: Path = Path(".")

    @field_validator("sample")
    @classmethod
    def _unique_names(cls, samples):
        seen = set()
        for s in samples:
            if s.name in seen:
                raise ValueError(f"two samples are named {s.name!r}; names must be unique")
            seen.add(s.name)
        return samples

    # ------------------------------------------------------------------ helpers
    def path(self, p: Path) -> Path:
        """A manifest path resolved against the manifest's folder."""
        p = Path(p).expanduser()
        return p if p.is_absolute() else (self.root / p)

    def sample_material(self, s: Sample) -> str:
        return s.material or self.study.material

    def sample_edge_nm(self, s: Sample) -> float:
        return s.edge_nm if s.edge_nm is not None else self.study.edge_nm

    def sample_edge_sd_nm(self, s: Sample) -> float:
        return s.edge_sd_nm if s.edge_sd_nm is not None else self.study.edge_sd_nm

    def input_files(self) -> list[Path]:
        """Every file the manifest names (resolved), in manifest order."""
        out: list[Path] = []
        for s in self.sample:
            for p in (s.absorption, s.pl, s.tpl_table, s.irf):
                if p is not None:
                    out.append(self.path(p))
            if s.plqy is not None:
                for p in (s.plqy.empty, s.plqy.out_of_beam, s.plqy.in_beam, s.plqy.response):
                    if p is not None:
                        out.append(self.path(p))
            if s.dipcoat is not None:
                out.append(self.path(s.dipcoat.table))
            for group in (s.tpl, s.decays, s.xrd, s.angle, s.tem, s.lattice):
                for item in group:
                    out.append(self.path(item.file))
                    irf = getattr(item, "irf", None)
                    if irf is not None:
                        out.append(self.path(irf))
        return list(dict.fromkeys(out))


def _line_of(text: str, loc: tuple) -> int | None:
    """Best-effort line number of a pydantic error location in the TOML text."""
    lines = text.splitlines()
    start, stop = 0, len(lines)
    parts = list(loc)
    if parts and parts[0] == "sample" and len(parts) > 1 and isinstance(parts[1], int):
        headers = [i for i, line in enumerate(lines) if re.match(r"\s*\[\[\s*sample\s*\]\]", line)]
        if parts[1] < len(headers):
            start = headers[parts[1]]
            later = [i for i, line in enumerate(lines) if i > start and re.match(r"\s*\[", line)]
            stop = later[0] if later else len(lines)
        parts = parts[2:]
    elif parts and parts[0] in ("study", "model"):
        for i, line in enumerate(lines):
            if re.match(rf"\s*\[\s*{parts[0]}\s*\]", line):
                start = i
                later = [j for j, ln in enumerate(lines) if j > i and re.match(r"\s*\[", ln)]
                stop = later[0] if later else len(lines)
                break
        parts = parts[1:]
    key = next((p for p in parts if isinstance(p, str)), None)
    if key is not None:
        for i in range(start, stop):
            if re.match(rf"\s*{re.escape(key)}\s*=", lines[i]):
                return i + 1
    return start + 1 if start or loc else None


def _loc_text(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part + 1}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "manifest"


def parse_manifest(text: str, source: str = "<manifest>", root: Path | None = None) -> Study:
    """Parse and validate manifest text.

    Raises
    ------
    ManifestError
        TOML syntax error or schema violation; the message has the line, the key and
        what was expected.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"not valid TOML: {exc}", source) from None
    if "root" in data:
        raise ManifestError(
            "'root' is not a manifest key (paths resolve against the manifest's folder)", source
        )
    data["root"] = root if root is not None else Path(".")
    duplicate = _duplicate_sample_names(text, data.get("sample"))
    try:
        study = Study.model_validate(data)
    except ValidationError as exc:
        raise ManifestError(_error_text(text, exc, duplicate), source) from None
    if duplicate:  # pragma: no cover - the validator refuses duplicates too
        raise ManifestError(duplicate, source)
    return study


def _duplicate_sample_names(text: str, samples) -> str | None:
    """``line 14: sample[3].name: 'X' is also the name of sample[1] (line 5); ...``, else None."""
    if not isinstance(samples, list):
        return None
    lines = text.splitlines()
    headers = [i for i, line in enumerate(lines) if re.match(r"\s*\[\[\s*sample\s*\]\]", line)]
    first: dict[str, int] = {}
    found = []
    for k, sample in enumerate(samples):
        name = sample.get("name") if isinstance(sample, dict) else None
        if not isinstance(name, str):
            continue
        name = name.strip()
        if name in first:
            j = first[name]
            line_k = _line_of(text, ("sample", k, "name"))
            line_j = _line_of(text, ("sample", j, "name")) if j < len(headers) else None
            at = f" (line {line_j})" if line_j else ""
            found.append(
                f"line {line_k}: sample[{k + 1}].name: {name!r} is also the name of sample[{j + 1}]{at}; "
                "sample names must be unique"
            )
        else:
            first[name] = k
    return "; ".join(found) or None


def _allowed_keys(loc: tuple) -> list[str]:
    """The keys the table holding ``loc`` accepts (for 'unknown key' errors)."""
    model = Study
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return []
        inner = next((c for c in _model_classes(field.annotation)), None)
        if inner is None:
            return []
        model = inner
    return [k for k in model.model_fields if k != "root"]


def _model_classes(annotation):
    """pydantic model classes inside a type annotation (``tuple[XrdFile, ...]`` -> XrdFile)."""
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    for arg in typing.get_args(annotation):
        yield from _model_classes(arg)


def _error_text(text: str, exc: ValidationError, duplicate: str | None) -> str:
    """Every validation error, each with its line and key, in the order of the file."""
    items = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        msg = err["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        if loc == ("sample",) and "unique" in msg:
            if duplicate:
                items.append((0, duplicate))
            else:
                items.append((0, f"sample: {msg}"))
            continue
        line = _line_of(text, loc)
        where = _loc_text(loc)
        got = err.get("input")
        got_text = ""
        if err["type"] == "extra_forbidden":
            allowed = _allowed_keys(loc)
            msg = "unknown key" + (f" (allowed: {', '.join(allowed)})" if allowed else "")
        elif (
            err["type"] not in ("missing", "value_error")
            and got is not None
            and not isinstance(got, (dict, list, tuple))
        ):
            shown = repr(got)
            got_text = f" (got {shown if len(shown) <= 60 else shown[:57] + '...'})"
        line_text = f"line {line}: " if line else ""
        items.append((line or 0, f"{line_text}{where}: {msg}{got_text}"))
    items.sort(key=lambda item: item[0])
    unique = list(dict.fromkeys(message for _, message in items))
    return "; ".join(unique)


def load_manifest(path: str | Path) -> Study:
    """Read and validate a manifest file; relative paths resolve against its folder.

    Raises
    ------
    ManifestError
        Unreadable file, TOML error, schema error, or a named file that does not exist.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ManifestError("no such file", str(path)) from None
    except IsADirectoryError:
        raise ManifestError(
            "is a directory; give the manifest file (study.toml)", str(path)
        ) from None
    except OSError as exc:
        raise ManifestError(
            f"cannot read the manifest ({exc.strerror or exc})", str(path)
        ) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ManifestError("the manifest is not UTF-8 text", str(path)) from None
    study = parse_manifest(text, str(path), root=path.resolve().parent)
    missing = [p for p in study.input_files() if not p.is_file()]
    if missing:
        first = missing[0]
        try:
            shown = first.relative_to(study.root)
        except ValueError:
            shown = first
        line = next((i + 1 for i, ln in enumerate(text.splitlines()) if str(shown) in ln), None)
        where = f"line {line}: " if line else ""
        more = f" (and {len(missing) - 1} more missing)" if len(missing) > 1 else ""
        raise ManifestError(f"{where}file {str(shown)!r} does not exist{more}", str(path))
    return study
