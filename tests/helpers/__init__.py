"""Helpers the tests share (not fixtures: those stay in the conftest files)."""
