"""A simulated study beside its paper: rows whose roles are derived, not typed.

Every comparison row names what its qdstack value is computed from
(``depends_on``): numbers of the paper (``paper:<id>``, ids of
:mod:`qdstack.references`), parameters of the film model (``param:<name>``)
and everything else (the linker library, literature structure, the analyses)
as plain text.  The parameter set records which of its parameters were
*fitted* to which numbers of the paper and which were *set from* them
(``provenance["reference_inputs"]``, :class:`ModelInputs`).  The role of a row
follows mechanically (:func:`derive_kind`):

``calibration input``
    a parameter the row depends on was fitted to the very number the row
    compares with (the row tests that the pipeline reads it back);
``consistency``
    otherwise, a paper number measuring the same physical quantity (the
    reference file's ``quantity``) went into the row, e.g. the in-plane period
    while the in-plane gap is set from it;
``prediction``
    no paper number of the row's own quantity went into it.

Each physical quantity counts once in the summary: a row whose paper numbers
were all compared already by an earlier counted row of the same role (e.g.
the difference of two periods after the two periods) is shown but not counted
(``counted: false``).

Tolerances: ``tolerance = 2 sqrt(sigma_paper^2 + sigma_qdstack^2)`` (two combined
standard uncertainties), where sigma_paper is the paper's stated uncertainty
or, where it states none, half a unit of the last digit it quotes (the
precision of the number as written), and sigma_qdstack the uncertainty of the
qdstack value (fit error, model spread); both are in the row.
"""

from __future__ import annotations

from qdstack.study.comparison.roles import (  # noqa: F401  (re-exported)
    KINDS,
    ModelInputs,
    derive_kind,
    headline,
    make_row,
    paper_closure,
    summarise,
)
from qdstack.study.comparison.build import (  # noqa: F401  (re-exported, private ones for tests)
    Comparison,
    _lifetime_ratio,
    _p,
    _single_dot_spread_eV,
    build_comparison,
)
from qdstack.study.comparison.discussion import (  # noqa: F401  (re-exported)
    _discussion,
    _saturation_text,
    _shift_text,
)

__all__ = [
    "ModelInputs",
    "derive_kind",
    "paper_closure",
    "make_row",
    "summarise",
    "headline",
    "Comparison",
    "build_comparison",
]
