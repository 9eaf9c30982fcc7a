"""Loads of the working warehouse: one at a time, whole or not at all, dead ones told apart."""
