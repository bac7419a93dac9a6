"""The labs that test the two papers' claims: one module per lab."""


def control_models_for_lab() -> dict[int, str]:
    """The bundled per-resolution control models ({size: name}); imported here when asked for (torch)."""
    from ..loaders import control_models

    return control_models()
