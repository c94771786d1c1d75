"""Deterministic code: the task workflow and the contracts every other room shares."""
