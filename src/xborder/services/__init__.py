"""Use cases: primitives in, domain snapshots out, a unit of work injected."""
