"""Which mechanisms can explain measured red shifts of quantum-dot multilayers, and with what parameters.

A researcher who measured first-peak shifts S(N) of N-layer films (one or more
linkers) asks which physics moves the films and whether its parameters are
defensible.  This package answers by fitting *mechanisms* - plug-ins with
literature-bounded parameter ranges (:mod:`.base`) - alone and in pairs, and
judging each: explains / explains only with implausible parameters / cannot
explain (:mod:`.fit`).

Built-in mechanisms (one module each):

``tunnelling`` (:mod:`.tunnelling`)
    electron and hole tunnel through the linker: ideal column, miniband.
``dielectric`` (:mod:`.dielectric`)
    more polarisable surroundings as layers are added.
``surface`` (:mod:`.surface`)
    the hole leaks into the thiolate shell of every linker-bound face.
``fusion`` (:mod:`.fusion`)
    a fraction of the contacts are perovskite necks.

The predictions are reduced models of the film model, documented and tested
against it (:mod:`._reduced`).

Example
-------
>>> from qdstack.physics.explain import explain, make_table
>>> table = make_table([8, 8], [-44.0, -14.2], linker=["C3DT", "C10DT"])
>>> result = explain(table)            # doctest: +SKIP
>>> result.best, result.get("tunnelling").verdict   # doctest: +SKIP

Adding a mechanism
------------------
Subclass :class:`Mechanism`, give it ``name``, ``parameters`` (each a
:class:`ParameterSpec` with plausible and physical ranges and a source) and
``predict(conditions, context, **values)`` returning S(N) in meV, then call
:func:`register_mechanism`.
"""

from qdstack.physics.explain.base import (
    Conditions,
    ExplainContext,
    Mechanism,
    ParameterSpec,
    available_mechanisms,
    context_from_parameters,
    get_mechanism,
    register_mechanism,
)
from qdstack.physics.explain import dielectric, fusion, surface, tunnelling  # noqa: F401  (registers them)
from qdstack.physics.explain.compare import bilayer_check, mechanism_curves, separating_measurements
from qdstack.physics.explain.fit import (
    ACCEPT_P,
    DELTA_AIC_TIE,
    closest_plausible,
    explain,
    fit_mechanism,
)
from qdstack.physics.explain.result import ExplainResult, MechanismFit, ParameterFit
from qdstack.physics.explain.table import ShiftTable, make_table, read_shift_table

__all__ = [
    "Conditions",
    "ExplainContext",
    "Mechanism",
    "ParameterSpec",
    "available_mechanisms",
    "context_from_parameters",
    "get_mechanism",
    "register_mechanism",
    "ExplainResult",
    "MechanismFit",
    "ParameterFit",
    "ShiftTable",
    "explain",
    "closest_plausible",
    "fit_mechanism",
    "make_table",
    "read_shift_table",
    "mechanism_curves",
    "separating_measurements",
    "bilayer_check",
    "ACCEPT_P",
    "DELTA_AIC_TIE",
]
