"""Pricing what the engine measured (lab 08): prices, run records, cost per million events."""
