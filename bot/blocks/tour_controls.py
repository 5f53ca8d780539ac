"""Block Kit for the leader's controls: what members hear when a tour is cancelled or its close
date moves, what a new co-leader hears, and the leader's own confirmations."""

from __future__ import annotations

from datetime import datetime

from bot.blocks import Message
from bot.blocks.kit import clip, section_block
from bot.blocks.tour import _closing, leader_time, tour_actions_block


def render_tour_cancelled(*, title: str, leader_id: str) -> Message:
    text = (
        f"<@{leader_id}> has cancelled *{clip(title, 300)}*. There is nothing more to answer, "
        "and nothing you wrote for it is kept."
    )
    return Message(text=f"{title} has been cancelled.", blocks=[section_block(text)])


def render_close_date_moved(*, title: str, closes_at: datetime, leader_tz: str) -> Message:
    text = (
        f"*{clip(title, 300)}* now closes {_closing(closes_at, leader_tz)}. "
        "Your answers so far are kept; you can still add or change them until then."
    )
    return Message(
        text=f"{title} now closes {leader_time(closes_at, leader_tz)}.",
        blocks=[section_block(text)],
    )


def render_co_leader_added(*, title: str, leader_id: str, tour_id: int, is_open: bool) -> Message:
    text = (
        f"<@{leader_id}> made you a co-leader of *{clip(title, 300)}*: you can remind, close, "
        "export, review its themes and hide answers, as they can. In an anonymous tour you "
        "see what they see: counts while it is open, and answers only once enough people "
        "besides the two of you have answered."
    )
    return Message(
        text=f"You are now a co-leader of {title}.",
        blocks=[section_block(text), tour_actions_block(tour_id, is_open=is_open)],
    )
