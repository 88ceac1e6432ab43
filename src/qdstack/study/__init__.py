"""Studies: manifests, the runner, caching and the HTML report.

:func:`run_study` runs every analysis a manifest implies (``qdstack study run``);
:func:`reproduce_enomoto2024` reproduces the reference study (``qdstack reproduce``).

Examples
--------
>>> from qdstack.study import load_manifest, plan_study
>>> study = load_manifest(EXAMPLES / "study_c3dt_c10dt" / "study.toml")
>>> [t.name for t in plan_study(study)][:3]
['absorption_solution', 'absorption_C3DT', 'absorption_C10DT']
"""

from qdstack._lazy import attach

_NAMES = {
    "load_manifest": ("manifest", "load_manifest"),
    "plan_study": ("runner", "plan_study"),
    "run_study": ("runner", "run_study"),
    "StudyRun": ("runner", "StudyRun"),
    "reproduce_enomoto2024": ("reproduce", "reproduce_enomoto2024"),
}

__getattr__, __dir__, __all__ = attach(__name__, _NAMES)
