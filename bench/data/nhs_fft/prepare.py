"""How nhft.csv and neas.csv were cut from the upstream file (see SOURCE.md); kept so the cut can
be checked and redone. Usage: python bench/data/nhs_fft/prepare.py PATH/TO/v6framework_230831.csv"""

from __future__ import annotations

import csv
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROWS_PER_TRUST = 700
# Labels that say how a comment feels, not what it is about: a comment with no topic label but
# one of these keeps it as its topic ("general praise"); "not assigned" comments are left out.
GENERAL = {"Positive experience & gratitude", "Negative experience & dissatisfaction"}
LEFT_OUT = {"Not assigned", "Labelling not possible", "Safeguarding concerns?"}
STRENGTH_QUESTIONS = {"What was good?"}
CHALLENGE_QUESTIONS = {"What could we do better?", "How could we improve?"}
WHY = "FFT Why?"
# The framework's own major categories (pxtextmining/params.py, `major_cat_dict`, framework v7),
# for a second, coarser reading of "same topic". v6 labels that v7 renamed are mapped to their v7
# name (the four marked "renamed"); a v6 label v7 does not list is its own domain.
DOMAINS = {
    "General": [
        "Positive experience & gratitude",
        "Negative experience & dissatisfaction",  # renamed: v7 keeps only the positive one
        "Organisation & efficiency",
        "Funding & use of financial resources",
        "Feeling safe",
    ],
    "Staff": [
        "Staff manner & personal attributes",
        "Competence & training",
        "Number & deployment of staff",  # renamed: "Staffing levels & responsiveness"
        "Staff responsiveness",  # renamed: "Staffing levels & responsiveness"
    ],
    "Access to medical care & support": [
        "Contacting services",
        "Appointment arrangements",
        "Appointment method",
        "Timeliness of care",
    ],
    "Communication & involvement": [
        "Unspecified communication",
        "Staff listening, understanding & involving patients",
        "Information directly from staff during care",
        "Information provision & guidance",
        "Being kept informed, clarity & consistency of information",
        "Interaction with family/ carers",
    ],
    "Mental Health specifics": ["Mental Health Act"],
    "Patient journey & service coordination": [
        "Staff continuity",  # renamed: "Continuity of care"
        "Referals & continuity of care",  # renamed: "Continuity of care"
        "Discharge",
    ],
    "Medication & pain": ["Supplying & understanding medication", "Pain management"],
    "Activities": ["Activities & access to fresh air", "Electronic entertainment"],
    "Environment, equipment & catering": [
        "Cleanliness, tidiness & infection control",
        "Sensory experience",
        "Environment & Facilities",
        "Provision of medical equipment",
        "Food & drink provision & facilities",
    ],
    "Service location, travel & transport": [
        "Service location",
        "Transport to/ from services",
        "Parking",
    ],
}
DOMAIN_OF = {
    label: domain for domain, labels in DOMAINS.items() for label in labels
}  # NEAS's open "why?" after the score: its side comes from the labelled sentiment


def side(row: dict[str, str]) -> int | None:
    question = row["FFT question"]
    if question in STRENGTH_QUESTIONS:
        return 0
    if question in CHALLENGE_QUESTIONS:
        return 1
    if question == WHY and row["Comment sentiment"] in {"1", "2"}:
        return 0
    if question == WHY and row["Comment sentiment"] in {"4", "5"}:
        return 1
    return None


def main(source: Path) -> None:
    with source.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    labels = list(rows[0].keys())[11:]
    for trust in ("NHFT", "NEAS"):
        kept = []
        for row in rows:
            text = row["FFT answer"].strip()
            question = side(row)
            if row["Trust"] != trust or question is None or not 15 <= len(text) <= 300:
                continue
            marked = [label for label in labels if row[label] == "1"]
            topics = [label for label in marked if label not in GENERAL | LEFT_OUT]
            general = [label for label in marked if label in GENERAL]
            if len(topics) == 1:
                topic = topics[0]
            elif not topics and len(general) == 1 and not set(marked) & LEFT_OUT:
                topic = general[0]
            else:
                continue
            kept.append((row["Comment ID"], question, topic, DOMAIN_OF.get(topic, topic), text))
        random.Random(trust).shuffle(kept)  # noqa: S311 - a reproducible cut, not a secret
        chosen = sorted(kept[:ROWS_PER_TRUST])
        with (HERE / f"{trust.lower()}.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["id", "question", "topic", "domain", "text"])
            writer.writerows(chosen)
        print(f"{trust}: {len(chosen)} of {len(kept)} usable comments")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
