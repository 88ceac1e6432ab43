"""Linker molecules: library of dithiols and their sulfur-sulfur distances."""
