"""Activity funds (活动经费) of communities and streets: yearly allocations from config/, claims with receipts (an
invoice claimed once, ever), approvals by the street or the district, a balance the database keeps from going below
zero, the year-end lapse, statements; approved claims are paid through the programme engine."""

from subsidies.activity import programme as programme  # registers the programme with the engine on import
