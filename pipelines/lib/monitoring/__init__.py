"""Backsliding alerts of certified counties, and the alert list people read."""
