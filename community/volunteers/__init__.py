"""Volunteers (志愿者): the registry, teams, needs and sign-ups, self-logged hours with approval, one-to-one pairing
with a household (一对一包户) and certificates of approved hours."""
