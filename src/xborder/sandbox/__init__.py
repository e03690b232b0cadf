"""Sandbox triggers: magic references that decide a sandbox payment's outcome (D15)."""
