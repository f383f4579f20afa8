"""The monthly assessment: the score as a pure rule, opinions, vetoes, appeals, the month's lock and ranks."""
