"""Operators: the base classes (base) and the catalogue of every ITM and TMO (catalogue)."""
