"""qdstack: analyse and model films of coupled quantum dots.

The package has two halves that meet in the study runner:

* analysis of measurements (``qdstack.analysis``, read through ``qdstack.io``):
  absorption series, temperature-dependent PL, time-resolved PL decays,
  X-ray scattering peaks and angle-dependent PL;
* physics models (``qdstack.materials``, ``qdstack.linkers``, ``qdstack.physics``):
  effective-mass carriers in stacked quantum dots coupled through linkers, and
  excitons on disordered N-layer stacks.

Units are fixed across the package: photon and band energies in eV, couplings,
shifts and widths in meV, lengths in nm, times in ns, temperatures in K.
"""

__version__ = "0.2.0"

__all__ = ["__version__"]
