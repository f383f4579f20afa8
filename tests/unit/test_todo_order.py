"""The home page's to-do list puts what is most urgent first and leaves out what has nothing waiting."""

from __future__ import annotations

from datetime import date

from supervision.todo import Task, most_urgent_first

TODAY = date(2026, 11, 26)


def test_overdue_then_nearest_deadline_then_undated_by_size_then_notifications_and_nothing_empty() -> None:
    tasks = [
        Task("未读通知", 9, "/notifications", notice=True),
        Task("申诉待答复", 1, "/assessment/appeals"),
        Task("补报记录待审批", 4, "/assessment#late-records"),
        Task("整改单待整改", 2, "/defects", date(2026, 11, 30)),
        Task("一票否决待审核", 1, "/assessment/vetoes", date(2026, 11, 20)),
        Task("项目委托待答复", 0, "/community/delivery/desk", date(2026, 11, 21)),
    ]
    ordered = most_urgent_first(tasks, TODAY)
    assert [t.title for t in ordered] == ["一票否决待审核", "整改单待整改", "补报记录待审批", "申诉待答复", "未读通知"]
    assert ordered[0].overdue(TODAY) and not ordered[1].overdue(TODAY)


def test_an_elder_lost_comes_before_everything_even_what_is_long_overdue() -> None:
    tasks = [
        Task("志愿时长待审核", 2, "/volunteers/approvals", date(2026, 11, 20)),
        Task("腕带求助待处理", 1, "/wristbands/alerts/7", TODAY, "老人走失求助，请立即处理", emergency=True),
        Task("未读通知", 3, "/notifications", notice=True),
    ]
    assert [t.title for t in most_urgent_first(tasks, TODAY)] == ["腕带求助待处理", "志愿时长待审核", "未读通知"]
