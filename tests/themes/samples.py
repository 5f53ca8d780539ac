"""Small answer sets for the theme tests: groups whose topic is obvious from their words."""

from __future__ import annotations

from bot.themes import AnswerText


def answers(*groups: tuple[int, list[str]]) -> list[AnswerText]:
    """AnswerTexts with ids g<group>-<n> for (question, texts) groups."""
    made = []
    for group, (question, texts) in enumerate(groups):
        made += [AnswerText(f"g{group}-{n}", question, text) for n, text in enumerate(texts)]
    return made


COFFEE = [
    "The coffee machine on the third floor is broken again.",
    "We need a coffee machine that works; the kitchen one is broken.",
    "Broken coffee machine every Monday, nobody fixes it.",
    "Please fix the coffee machine, it has been broken for weeks.",
    "The kitchen coffee machine keeps breaking down.",
]
PARKING = [
    "Parking spaces are full by eight, so I circle looking for a parking space.",
    "There are not enough parking spaces for the team.",
    "Parking spaces fill up early and parking is a daily struggle.",
    "Finding a parking space takes twenty minutes every morning.",
    "More parking spaces please, they are always full.",
]
LAPTOPS = [
    "My laptop is slow and its battery dies by lunch.",
    "Old laptops are slow and their batteries are tiny.",
    "The laptop battery lasts an hour and the laptop is slow.",
    "Slow laptops make builds painful; we need new laptops.",
    "My laptop is slow, overheats, and the battery is nearly dead.",
]
