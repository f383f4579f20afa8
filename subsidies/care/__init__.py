"""Elderly home care (居家养老服务券): elders, enrolments, providers' contracts, monthly vouchers, visits, redemption, and
the monthly run on the programme engine."""
