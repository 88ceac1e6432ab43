"""Which film-model parameters are the mechanisms' parameters, and whether a parameter set is plausible.

The mechanisms of :mod:`qdstack.physics.explain` are reduced models of terms the
film model (:mod:`qdstack.physics.film_model`) has as parameters;
:data:`MECHANISM_TO_FILM` names them, so the plausible ranges of the mechanisms
(their :class:`~qdstack.physics.explain.base.ParameterSpec`, with sources) judge a
film-model parameter set too (:func:`film_plausibility`).  The exponential
coupling law's barrier is the tunnelling barrier (with its barrier mass); its
zero-gap amplitude has no literature range of its own.
"""

from __future__ import annotations

__all__ = ["MECHANISM_TO_FILM", "film_plausibility"]

#: (mechanism, its parameter) -> the film-model parameter(s) that are the same physical quantity
MECHANISM_TO_FILM = {
    ("tunnelling", "barrier_eV"): ("barrier_e_eV", "barrier_h_eV"),
    ("tunnelling", "barrier_mass"): ("barrier_mass",),
    ("dielectric", "eps_dot"): ("eps_dot",),
    ("dielectric", "eps_linker"): ("eps_ligand",),
    ("surface", "delta_nm"): ("thiolate_leak_nm",),
    ("fusion", "fused_fraction"): ("neck_fraction",),
    ("fusion", "neck_nm"): ("neck_nm",),
}


def film_plausibility(params) -> dict:
    """Each ranged film-model parameter of a set beside its plausible range.

    Parameters
    ----------
    params : FilmParameters

    Returns
    -------
    dict
        ``{"plausible": bool, "outside": [str], "at_bound": [str], "ranges": {film
        parameter: {"value", "min", "max", "mechanism", "parameter", "source"}}}``.
        ``eps_dot`` None is the material's exciton dielectric constant.
        ``at_bound`` lists only parameters the set says were fitted
        (``provenance["reference_inputs"]["fitted"]``) and ended within 0.1 % of
        the range at a bound.
    """
    from qdstack.physics.explain.base import get_mechanism
    from qdstack.physics.film_model.dots import _material

    fitted = set(
        ((getattr(params, "provenance", None) or {}).get("reference_inputs") or {}).get("fitted")
        or {}
    )
    ranges, outside, at_bound = {}, [], []
    for (mech, pname), films in MECHANISM_TO_FILM.items():
        spec = get_mechanism(mech).spec(pname)
        lo, hi = spec.plausible
        for film in films:
            v = getattr(params, film)
            if film == "eps_dot" and v is None:
                v = float(_material(params).exciton_dielectric)
            v = float(v)
            ranges[film] = {
                "value": v,
                "min": lo,
                "max": hi,
                "mechanism": mech,
                "parameter": pname,
                "source": spec.source,
            }
            if not (lo - 1e-9 <= v <= hi + 1e-9):
                outside.append(film)
            elif film in fitted and min(abs(v - lo), abs(v - hi)) <= 1e-3 * (hi - lo):
                at_bound.append(film)
    return {"plausible": not outside, "outside": outside, "at_bound": at_bound, "ranges": ranges}
