"""Readers only: wannierberri adapters, shipped data, orbital files. No physics here."""
