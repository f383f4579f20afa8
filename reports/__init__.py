"""Documents: PDF and spreadsheet builders (lands with its issue)."""
