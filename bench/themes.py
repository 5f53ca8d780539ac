"""Theme-suggestion bench: how well the clustering agrees with the hand-labelled notes in
bench/data/feedback_notes.csv (adjusted Rand index, model vs TF-IDF fallback in the same run),
and how long suggestion takes for 100 and 500 answers with the model loaded.
Usage: python bench/themes.py [--repeats 5]; writes bench/results/themes.json. Fails only when a
suggestion breaks a rule (a name or stop word in a label, a quote that is not the theme's),
never on timing or ARI."""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bot.themes import AnswerText, SuggestedTheme, suggest_themes
from bot.themes.clustering import adjusted_rand_index
from bot.themes.embeddings import MODEL_ENGINE, TFIDF_ENGINE, model_load_seconds, shared_encoder
from bot.themes.keywords import name_words, stop_words
from bot.themes.suggest import Method, cluster_answers

HERE = Path(__file__).resolve().parent
NOTES = HERE / "data" / "feedback_notes.csv"
RESULTS = HERE / "results" / "themes.json"
# The two people the notes mention; the bench checks they never reach a label.
NAMES = ("Priya Raman", "Tomás Ortega")
PREFIXES = ("", "", "Honestly, ", "For me, ", "I'd say ", "Same as before: ", "Hmm. ")
SUFFIXES = ("", "", " It's been like this for months.", " :sweat_smile:", " (just my view)", "!")
ENGINES: dict[str, Method] = {MODEL_ENGINE: "model", TFIDF_ENGINE: "tfidf"}


def load_notes() -> tuple[list[AnswerText], list[str]]:
    with NOTES.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    answers = [AnswerText(row["id"], int(row["question"]), row["text"]) for row in rows]
    return answers, [row["topic"] for row in rows]


def varied(answer: AnswerText, copy: int, rng: random.Random) -> AnswerText:
    """A light rewording of a note: a filler before or after it, sometimes lower case."""
    text = answer.text
    if rng.random() < 0.3:
        text = text[0].lower() + text[1:]
    text = f"{rng.choice(PREFIXES)}{text}{rng.choice(SUFFIXES)}"
    return AnswerText(f"{answer.id}-{copy}", answer.question, text)


def sample(answers: list[AnswerText], n: int, seed: int) -> list[AnswerText]:
    """n answers: the notes in a shuffled order, then reworded copies of them."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible sample, not a secret
    order = answers[:]
    rng.shuffle(order)
    picked = []
    for position in range(n):
        copy = position // len(order)
        note = order[position % len(order)]
        picked.append(note if copy == 0 else varied(note, copy, rng))
    return picked


def quality(answers: list[AnswerText], topics: list[str], method: Method) -> dict[str, Any]:
    chosen = cluster_answers(answers, names=NAMES, method=method)
    fixed = cluster_answers(answers, names=NAMES, method=method, k=len(set(topics)))
    assert chosen is not None
    assert fixed is not None
    topic_of = {answer.id: topic for answer, topic in zip(answers, topics, strict=True)}
    themes = []
    suggested = suggest_themes(answers, names=NAMES, method=method)
    problems = broken_rules(suggested, answers)
    for theme in suggested:
        top_topic, count = Counter(topic_of[i] for i in theme.answer_ids).most_common(1)[0]
        themes.append(
            {
                "label": theme.label,
                "kind": str(theme.kind),
                "answers": len(theme.answer_ids),
                "cohesion": theme.cohesion,
                "main_topic": top_topic,
                "purity": round(count / len(theme.answer_ids), 3),
            }
        )
    return {
        "engine": chosen.engine,
        "k_chosen": chosen.clustering.k,
        "silhouette": round(chosen.clustering.silhouette, 4),
        "ari_k_chosen": round(
            adjusted_rand_index(topics, chosen.clustering.assignment.tolist()), 4
        ),
        "k_true": fixed.clustering.k,
        "ari_k_true": round(adjusted_rand_index(topics, fixed.clustering.assignment.tolist()), 4),
        "themes": themes,
        "problems": problems,
    }


def broken_rules(themes: list[SuggestedTheme], answers: list[AnswerText]) -> list[str]:
    """What a caller must be able to rely on; the bench fails when any of it breaks."""
    forbidden = name_words(NAMES) | stop_words()
    ids = {answer.id for answer in answers}
    problems = [f"{len(themes)} themes, more than 3"] if len(themes) > 3 else []
    for theme in themes:
        words = theme.label.split()
        if not 2 <= len(words) <= 5 or set(words) & forbidden:
            problems.append(f"label {theme.label!r}")
        if not set(theme.quote_ids) <= set(theme.answer_ids) <= ids:
            problems.append(f"quotes or answers of {theme.label!r} are not its answers")
        if not 2 <= len(theme.quote_ids) <= 3:
            problems.append(f"{len(theme.quote_ids)} quotes for {theme.label!r}")
    return problems


def machine_busy_seconds() -> float | None:
    """CPU seconds all processes have spent so far (Linux /proc/stat), to tell how busy the
    machine was during a run; None elsewhere."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def seconds(answers: list[AnswerText], method: Method, repeats: int) -> dict[str, float | None]:
    """Wall-clock seconds (best and median of `repeats`); for the best run also its CPU seconds
    and the CPU seconds other processes (and the hypervisor's steal) took meanwhile: on a busy
    machine the wall clock grows, and this says by how much the run had to share."""
    runs = []
    for _ in range(repeats):
        busy = machine_busy_seconds()
        started, cpu_started = time.perf_counter(), time.process_time()
        suggest_themes(answers, names=NAMES, method=method)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        busy_after = machine_busy_seconds()
        others = None if busy is None or busy_after is None else max(0.0, busy_after - busy - cpu)
        runs.append((wall, cpu, others))
    best = min(runs, key=lambda run: run[0])
    return {
        "best": round(best[0], 3),
        "median": round(statistics.median(run[0] for run in runs), 3),
        "cpu_of_best": round(best[1], 3),
        "others_cpu_during_best": None if best[2] is None else round(best[2], 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per size (best, median)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    answers, topics = load_notes()
    started = time.perf_counter()
    model_loaded = shared_encoder() is not None
    first_call = time.perf_counter() - started
    engines = {
        name: method for name, method in ENGINES.items() if model_loaded or method == "tfidf"
    }

    results: dict[str, Any] = {
        "notes": len(answers),
        "topics": len(set(topics)),
        "model_loaded": model_loaded,
        "model_load_seconds": round(model_load_seconds() or first_call, 3)
        if model_loaded
        else None,
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
            "load_average_before": [round(x, 2) for x in os.getloadavg()],
        },
        "quality": {},
        "seconds": {},
    }
    for name, method in engines.items():
        results["quality"][name] = quality(answers, topics, method)
    for n in (100, 500):
        batch = sample(answers, n, args.seed)
        for name, method in engines.items():
            results["seconds"].setdefault(name, {})[str(n)] = seconds(batch, method, args.repeats)
    results["machine"]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]

    print(f"{len(answers)} notes, {len(set(topics))} topics; model loaded: {model_loaded}", end="")
    print(f" in {results['model_load_seconds']:.2f} s" if model_loaded else "")
    header = f"{'engine':<12} {'k':>3} {'ARI(k chosen)':>14} {'ARI(k=true)':>12}"
    header += f" {'s/100 best':>11} {'s/500 best':>11} {'s/500 median':>13}"
    header += f" {'cpu-s/500':>10} {'others-cpu-s':>13}"
    print(header)
    for name in engines:
        q, s = results["quality"][name], results["seconds"][name]
        print(
            f"{name:<12} {q['k_chosen']:>3} {q['ari_k_chosen']:>14.3f} {q['ari_k_true']:>12.3f}"
            f" {s['100']['best']:>11.3f} {s['500']['best']:>11.3f} {s['500']['median']:>13.3f}"
            f" {s['500']['cpu_of_best']:>10.3f} {s['500']['others_cpu_during_best'] or 0:>13.3f}"
        )
    for name in engines:
        for theme in results["quality"][name]["themes"]:
            print(
                f"  {name:<12} {theme['label']!r:<34} {theme['kind']:<9} {theme['answers']:>3}"
                f" answers, {theme['purity']:.0%} {theme['main_topic']}"
            )
    others = max(results["seconds"][name]["500"]["others_cpu_during_best"] or 0 for name in engines)
    if others > 0.2:
        print(f"note: other processes took {others:.2f} CPU-s during a best 500-answer run;")
        print("      the timings include that contention (compare the cpu-s column)")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS.relative_to(HERE.parent)}")
    problems = [p for name in engines for p in results["quality"][name]["problems"]]
    for problem in problems:
        print(f"FAILED: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
