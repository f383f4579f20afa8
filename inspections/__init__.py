"""Evidence: patrols, street inspections, spot checks, defects and rectification (lands with its issue)."""
