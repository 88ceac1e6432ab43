"""Named parameter sets of the film model (JSON) and the scripts that produced them.

``enomoto2024.json`` (the default of ``qdstack simulate``) and
``enomoto2024-tunnelling.json`` are written by :mod:`.make_enomoto2024`
(``python -m qdstack.physics.parameter_sets.make_enomoto2024``); load them with
:func:`qdstack.physics.film_model.load_parameter_set`.
"""
