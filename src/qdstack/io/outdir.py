"""One results folder, one run: the ``--out`` folder rule of every command.

A folder that ``--out`` names belongs to the run that wrote it.  Each run leaves
a small marker, ``.qdstack-run.json``, naming the command, a hash of its
arguments (its *identity*) and every file it wrote.  Before anything is written:

* a folder that does not exist or is empty is used (sub-folders holding another run's own
  marker, like ``results/absorption`` inside ``results/``, do not count);
* a folder whose marker has the same command and identity (the same command run
  again, or a study re-run from the same manifest, which keeps its cache) is used,
  and the files of the previous run that this one does not write again are removed;
* anything else -- another command's results, the same command on other inputs,
  or files qdstack did not write -- is refused (:class:`OptionError` on ``--out``)
  unless ``force`` is given; then the files the previous run recorded are removed
  first (files qdstack did not write are never deleted).

Commands: ``qdstack absorption ... --out r/`` after ``qdstack reproduce ... --out r/``
is refused; ``--force`` replaces the reproduction's files with the absorption's.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from qdstack.errors import OptionError

__all__ = ["MARKER", "OutFolder", "claim_out_dir", "run_identity"]

#: the marker file each run leaves in its folder
MARKER = ".qdstack-run.json"


def run_identity(*parts) -> str:
    """SHA-256 (hex, 16 characters) of the JSON of ``parts``: what makes two runs the same run."""
    text = json.dumps(
        [str(p) if not isinstance(p, (list, tuple)) else [str(q) for q in p] for p in parts]
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _read_marker(folder: Path) -> dict | None:
    try:
        data = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _visible(folder: Path) -> list[Path]:
    """What the folder holds, leaving out the marker and sub-folders that are runs' own folders
    (``results/absorption`` inside ``results/`` belongs to its run, not to ``results/``)."""
    return [
        p
        for p in folder.iterdir()
        if p.name != MARKER and not (p.is_dir() and (p / MARKER).is_file())
    ]


def _describe(marker: dict | None) -> str:
    if marker is None:
        return "files qdstack did not write (or wrote before it recorded its runs)"
    shown = " ".join(str(a) for a in marker.get("arguments", []))
    command = marker.get("command", "?")
    return f"the results of another run (qdstack {shown or command})"


def _remove_files(folder: Path, names) -> None:
    """Delete the listed files (relative to ``folder``) and the folders they leave empty."""
    root = folder.resolve()
    parents = set()
    for name in names:
        path = (folder / name).resolve()
        if root not in path.parents:  # never outside the folder
            continue
        try:
            if path.is_file() or path.is_symlink():
                path.unlink()
                parents.add(path.parent)
        except OSError:
            continue
    for parent in sorted(parents, key=lambda p: len(p.parts), reverse=True):
        while parent != root and root in parent.parents:
            try:
                parent.rmdir()  # only when empty
            except OSError:
                break
            parent = parent.parent


@dataclass
class OutFolder:
    """A claimed results folder; call :meth:`finish` once the run has written its files."""

    path: Path
    command: str
    identity: str
    arguments: tuple[str, ...]
    previous: tuple[str, ...]
    before: dict
    keep: tuple[str, ...] = ()

    def finish(self, written=None, *, accumulate: bool = False) -> None:
        """Record the run's files in the marker and remove the previous run's leftovers.

        ``written``: the files of this run (relative paths); default every file under the
        folder created or modified since the claim.  Paths under ``keep`` (e.g. a study's cache)
        are neither listed nor removed.  ``accumulate``: keep the previous run's files
        listed (a study re-run that took some outputs from its cache).
        """
        folder = self.path
        if written is None:
            written = []
            for p in folder.rglob("*"):
                if p.is_file() and p.name != MARKER:
                    rel = p.relative_to(folder).as_posix()
                    if any(rel == k or rel.startswith(k + "/") for k in self.keep):
                        continue
                    try:
                        stamp = p.stat().st_mtime_ns
                    except OSError:
                        continue
                    if self.before.get(rel) != stamp:
                        written.append(rel)
        written = sorted(set(written) | (set(self.previous) if accumulate else set()))
        stale = [
            n
            for n in self.previous
            if n not in set(written) and not any(n == k or n.startswith(k + "/") for k in self.keep)
        ]
        _remove_files(folder, stale)
        self.write_marker(written)

    def write_marker(self, files) -> None:
        """Write ``.qdstack-run.json`` (command, identity, arguments, files, owned folders)."""
        from qdstack import __version__
        from qdstack.io.writers import atomic_write_text

        marker = {
            "qdstack": __version__,
            "command": self.command,
            "identity": self.identity,
            "arguments": list(self.arguments),
            "files": sorted(files),
            "folders": list(self.keep),
        }
        atomic_write_text(self.path / MARKER, json.dumps(marker, indent=1) + "\n")


def claim_out_dir(
    folder,
    command: str,
    identity: str,
    *,
    arguments=(),
    force: bool = False,
    option: str = "--out",
    keep=(),
) -> OutFolder:
    """Check that ``folder`` may take this run's results; create it (see the module docstring).

    Parameters
    ----------
    folder : path
        The ``--out`` folder.
    command : str
        The command (``"absorption"``, ``"study run"``).
    identity : str
        What makes two runs the same (:func:`run_identity` of the arguments).
    arguments : sequence of str
        The command line, shown when another run is refused.
    force : bool
        Replace another run's results.
    option : str
        The option named in errors.
    keep : sequence of str
        Relative paths a re-run keeps (a study's ``.cache``).

    Raises
    ------
    OptionError
        The folder is a file, or holds another run's results and ``force`` is not set.
    """
    path = Path(folder)
    if path.exists() and not path.is_dir():
        raise OptionError(f"{path} exists and is not a folder", option)
    previous: tuple[str, ...] = ()
    if path.is_dir() and _visible(path):
        marker = _read_marker(path)
        same = (
            marker is not None
            and marker.get("command") == command
            and marker.get("identity") == identity
        )
        if not same and not force:
            raise OptionError(
                f"{path} holds {_describe(marker)}; a results folder belongs to one run: choose another "
                "folder, or add --force to replace them",
                option,
            )
        if marker is not None:
            files = [str(f) for f in marker.get("files", []) if isinstance(f, str)]
            if same:
                previous = tuple(files)
            else:  # --force: clear what the other run wrote (never the user's own files)
                for owned in marker.get("folders", []):  # e.g. the other study's cache
                    if isinstance(owned, str) and (path / owned).is_dir():
                        files += [
                            p.relative_to(path).as_posix()
                            for p in (path / owned).rglob("*")
                            if p.is_file()
                        ]
                _remove_files(path, files)
    path.mkdir(parents=True, exist_ok=True)
    before = {}
    for p in path.rglob("*"):
        try:
            if p.is_file():
                before[p.relative_to(path).as_posix()] = p.stat().st_mtime_ns
        except OSError:
            continue
    claimed = OutFolder(
        path, command, identity, tuple(str(a) for a in arguments), previous, before, tuple(keep)
    )
    claimed.write_marker(list(previous))  # an interrupted run can still be resumed or replaced
    return claimed
