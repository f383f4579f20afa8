"""The way home (爱洒回家路): QR wristbands for elders who may get lost, their guardians and finders' alerts."""
