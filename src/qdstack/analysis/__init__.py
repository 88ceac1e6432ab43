"""Fits of measurements: one module per analysis, each an lmfit Model with guesses.

absorption  first excitonic peak, shift vs layers, chain fit (Figs. 2-3)
coupling    exponential decay of the bilayer shift with linker length (eqn 1, Fig. 4)
peaks       second-derivative peak location shared by the spectral analyses
"""
