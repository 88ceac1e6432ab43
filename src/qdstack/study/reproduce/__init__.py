"""``qdstack reproduce enomoto2024``: the reference study, simulated and measured again.

The raw data of Enomoto et al. (Chem. Sci. 2024, 15, 13049) are not public, so
the reproduction is honest about what it is:

1. The film model (:mod:`qdstack.physics.film_model`, parameter set ``enomoto2024``)
   was calibrated on numbers of the paper (the two N = 8 shifts; its energy
   offset, homogeneous width and intrinsic Stokes shift on the solution
   spectra; the in-plane gap from the in-plane period).  The parameter set
   records which (``provenance["reference_inputs"]``).
2. The model's films are turned into the files an experimentalist would record
   (:mod:`qdstack.synthetic`): absorption spectra with the higher transitions,
   continuum, scattering tail and spectrometer noise; the solution PL; X-ray
   profiles at the periods of the structural model of the stack
   (:mod:`qdstack.physics.stack_structure`) with Poisson counts; TCSPC decays.
3. Those files, and a manifest listing them, go through ``qdstack study run`` --
   the same analyses a user runs on real files.
4. :mod:`qdstack.study.comparison` puts every number of the paper
   (:mod:`qdstack.references`, the one copy) beside qdstack's; each row's role
   (calibration input, consistency, prediction) is derived from what it depends
   on, and the headline counts each physical quantity once.

The report is a list of sections (:data:`REPORT_SECTIONS`) and the results a
set of keys, so a further part of the reproduction adds one of each.

Modules: :mod:`.measurements` (the simulated instrument files), :mod:`.simulation`
(the model's films), :mod:`.sections` (report sections), :mod:`.driver`
(:func:`reproduce_enomoto2024`).
"""

from __future__ import annotations

from qdstack.study.reproduce.measurements import (  # noqa: F401  (re-exported, private ones for tests)
    _OD_NOISE,
    _OTHER_LINKERS,
    _TAU_DOT_NS,
    _WAVELENGTHS_NM,
    _XRD_FWHM_PER_NM,
    REFERENCE,
    write_simulated_study,
)
from qdstack.study.reproduce.simulation import PaperSimulation, simulate_paper
from qdstack.study.reproduce.sections import (  # noqa: F401  (re-exported)
    REPORT_SECTIONS,
    _explain_report_section,
    _explain_section,
)
from qdstack.study.reproduce.driver import STUDIES, reproduce_enomoto2024

__all__ = [
    "reproduce_enomoto2024",
    "STUDIES",
    "PaperSimulation",
    "simulate_paper",
    "write_simulated_study",
    "REPORT_SECTIONS",
]
