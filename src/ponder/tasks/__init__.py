"""Tasks and answer extraction."""
