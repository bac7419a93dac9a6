"""AdvLens: watch adversarial attacks happen."""

__version__ = "0.1.0"
