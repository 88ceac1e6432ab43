"""Every ``$ qdstack ...`` example of the README and the guide pages runs and prints the documented numbers.

Issue 16, item 9: the README and the commands drifted apart (a PL FWHM of 76.83 in the text,
76.86 printed; a bench table with "—" for computed entries).  This test reads every
```` ```console ```` block of ``README.md`` and ``docs/guide/*.md``, runs each line that
starts with ``$ qdstack`` (in document order, in one temporary copy of ``examples/`` per
page, so that an example that reads what an earlier one wrote works and one that would
overwrite another's results folder fails), and checks that every number the page prints
after the command appears in the command's output (stdout and stderr), equal to the last
printed digit +-1.  Lines of ``...`` mark an abbreviated output: the numbers shown must
still be there.  Numbers followed by a time unit (timings), dates and version strings are
not compared.  Examples that need what a plain install lacks (a GPU, files outside the
repository) skip with the reason; the slow ones (a study, the reproduction, the film model)
are marked ``slow``.
"""

from __future__ import annotations

import contextlib
import glob
import io
import re
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs" / "guide").glob("*.md"))]
SHARED_REAL = next(
    (
        f / "shared" / "data" / "real"
        for f in REPO.parents
        if (f / "shared" / "data" / "real").is_dir()
    ),
    None,
)

#: commands that take more than ~10 s on 2 cores
_SLOW = re.compile(r"^(reproduce|study run|simulate|calibrate|decay --series)\b")


@dataclass
class Example:
    page: Path
    line: int
    command: str
    expected: str
    partial: bool
    depends_on_slow: bool = False

    @property
    def id(self) -> str:
        return f"{self.page.name}:{self.line}"


def _examples(page: Path) -> list[Example]:
    out: list[Example] = []
    lines = page.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip().startswith("```console"):
            j = i + 1
            current: Example | None = None
            while j < len(lines) and not lines[j].strip().startswith("```"):
                text = lines[j]
                if text.startswith("$ "):
                    command = text[2:]
                    start = j
                    while command.rstrip().endswith("\\") and j + 1 < len(lines):
                        j += 1
                        command = command.rstrip()[:-1] + " " + lines[j].strip()
                    current = None
                    if command.startswith("qdstack"):
                        current = Example(page, start + 1, command, "", False)
                        out.append(current)
                elif current is not None:
                    if text.strip() in ("...", "…"):
                        current.partial = True
                    else:
                        current.expected += text + "\n"
                j += 1
            i = j
        i += 1
    slow_outputs: list[str] = []
    for ex in out:
        args = _argv(ex.command)
        if _SLOW.match(" ".join(args[1:3])):
            slow_outputs += [a for k, a in enumerate(args) if k > 0 and args[k - 1] == "--out"]
        elif any(a.startswith(tuple(p.rstrip("/") + "/" for p in slow_outputs)) for a in args):
            ex.depends_on_slow = True
    return out


def _argv(command: str) -> list[str]:
    text = re.sub(r"\s+#.*$", "", command)  # a shell comment after the command
    return shlex.split(text)


ALL = [ex for page in PAGES if page.is_file() for ex in _examples(page)]

_NUMBER = re.compile(r"(?<![\w.])[-+−]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.]*\d)")
_SKIP_TOKEN = re.compile(
    r"\d{4}-\d{2}-\d{2}"  # dates
    r"|\d+(?:\.\d+){2,}"  # versions 2026.09.1
    r"|[-+]?\d+(?:\.\d+)?\s*(?:s|ms|min|MB|GB)\b(?!\s*\()"  # timings, memory
)


#: relative floor of the tolerance: numbers printed at full float precision (JSON) agree to
#: 1e-7 relative, since a different but equally converged solver path moves their 9th digit
REL_FLOOR = 1e-7


def _numbers(text: str) -> list[tuple[float, float]]:
    """(value, tolerance) of every number in ``text``.

    The tolerance is one unit of the last printed digit, or ``REL_FLOOR`` relative where that
    is larger (full-precision JSON floats).
    """
    text = _SKIP_TOKEN.sub(" ", text)
    out = []
    for m in _NUMBER.finditer(text):
        token = m.group(0).replace("−", "-")
        mantissa, _, exponent = token.lower().partition("e")
        decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
        scale = 10.0 ** (int(exponent) if exponent else 0)
        value = float(token)
        out.append((value, max(10.0**-decimals * scale, REL_FLOOR * abs(value))))
    return out


def _missing(expected: str, actual: str) -> list[float]:
    """Documented numbers not found in the output (each output number used once)."""
    pool = [v for v, _ in _numbers(actual)]
    used = [False] * len(pool)
    missing = []
    for value, tol in _numbers(expected):
        best = None
        for k, v in enumerate(pool):
            if not used[k] and abs(v - value) <= tol * (1 + 1e-9):
                if best is None or abs(v - value) < abs(pool[best] - value):
                    best = k
        if best is None:
            missing.append(value)
        else:
            used[best] = True
    return missing


@pytest.fixture(scope="module")
def workdirs(tmp_path_factory):
    """One copy of examples/ per page (examples run in document order share it)."""
    made: dict[Path, Path] = {}

    def get(page: Path) -> Path:
        if page not in made:
            root = tmp_path_factory.mktemp(page.stem.replace(".", "_"))
            shutil.copytree(
                REPO / "examples",
                root / "examples",
                ignore=shutil.ignore_patterns("__pycache__", "qdstack-results", "results"),
            )
            shutil.copytree(
                REPO / "benchmarks",
                root / "benchmarks",
                ignore=shutil.ignore_patterns("__pycache__"),
            )
            made[page] = root
        return made[page]

    return get


def _params():
    out = []
    for ex in ALL:
        marks = []
        args = _argv(ex.command)
        if _SLOW.match(" ".join(args[1:3])) or ex.depends_on_slow:
            marks.append(pytest.mark.slow)
        out.append(pytest.param(ex, id=ex.id, marks=marks))
    return out


def test_the_pages_have_examples():
    assert len(ALL) >= 20, [ex.id for ex in ALL]


@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("example", _params())
def test_documented_example(example: Example, workdirs, monkeypatch):
    from qdstack.cli.main import main

    args = _argv(example.command)[1:]
    if "cupy" in args:
        pytest.skip("needs a GPU and the gpu extra")
    if any(a.startswith("../shared/") for a in args):
        if SHARED_REAL is None:
            pytest.skip("reads a GPL-licensed real file that is not shipped (../shared/data/real)")
        args = [
            str(SHARED_REAL / a.split("data/real/", 1)[1]) if a.startswith("../shared/") else a
            for a in args
        ]
    root = workdirs(example.page)
    monkeypatch.chdir(root)
    expanded: list[str] = []
    for a in args:
        if any(ch in a for ch in "*?[") and not a.startswith("-"):
            hits = sorted(glob.glob(a))
            assert hits, f"{example.id}: {a} matches no file"
            expanded += hits
        else:
            expanded.append(a)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(expanded)
    text = out.getvalue() + err.getvalue()
    if code == 2 and "extra" in err.getvalue():
        pytest.skip(f"needs an extra: {err.getvalue().strip()}")
    expect_error = example.expected.lstrip().startswith("error:")  # a documented refusal
    assert code == (2 if expect_error else 0), f"{example.id}: {example.command}\n{text}"
    missing = _missing(example.expected, text)
    assert not missing, (
        f"{example.id}: numbers documented but not printed (+-1 in the last digit): {missing}\n"
        f"command: {example.command}\noutput:\n{text}"
    )


def test_number_matching_rules():
    assert _missing("peak 2.4737 eV, FWHM 83", "peak 2.4738 eV, FWHM 84") == []
    assert _missing("peak 2.4737", "peak 2.4739") == [2.4737]
    # full-precision floats: 1e-7 relative, not one unit of the 17th digit
    assert _missing('"od": 0.02271534009243078', '"od": 0.022715340201670067') == []
    assert _missing('"od": 0.02271534009243078', '"od": 0.022715345') == [0.02271534009243078]
    assert _missing("76.83 meV", "76.86 meV") == [76.83]
    assert _missing("3.22e+05", "3.21e+05") == []
    assert _missing("took 1.9 s on cpu, computed 2026-11-25, RDKit 2026.09.1", "took 7.4 s") == []
    assert _missing("a = -25.27 ± 0.15", "a = −25.27 ± 0.15") == []
