"""Relief funds (救助基金: 温暖济困, 阳光助学, 博爱助医, 光彩助老): yearly budgets and caps per case from config/,
applications filed by the community for a resident, the three-level review (社区初审 → 街道审核 → 区审批) with a
reason at each level and deadlines, a fund the database keeps from being overspent; approved cases are paid through
the programme engine and each decided application gets a decision letter."""

from subsidies.relief import programme as programme  # registers the programme with the engine on import
