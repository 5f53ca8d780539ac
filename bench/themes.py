"""Theme-suggestion bench on real feedback that people wrote and people grouped: the NHS
Friends and Family Test comments of two trusts (bench/data/nhs_fft/, see SOURCE.md there), each
labelled with its topic by the project's human coders and answering either "what was good?" or
"what could we do better?". For the current engine and the one before issue #15 (bench/themes_v1,
same model, same run) it reports, on random 40-answer samples (a team's tour, 5 seeds) and on the
whole corpus:

- quote purity: the share of a theme's (up to 3) quotes on the theme's main topic, mean over themes;
- polarity purity: the share of a theme's answers from its main side (strength / challenge);
- distinct: whether the top themes are different topics (main topic of their answers);
- unthemed: answers in no theme; ARI: adjusted Rand index of the grouping against the topics;
- names: words of labels and summaries that are people's names written in the answers (listed
  by hand below), with an empty Slack directory;
- seconds for 500 answers: warm (best of --repeats) and cold (a fresh process, model load
  included), with CPU seconds and the load average, since other jobs slow the wall clock.

Usage: python bench/themes.py [--repeats 3] [--seeds 5] [--first-seed 1]; writes
bench/results/themes.json (--first-seed 6 --seeds 15 checks on samples chosen on 1-5). Fails
only when the current engine breaks a rule (label length, a name in a label or summary, a quote
that is not its theme's, a theme mixing sides), never on a figure."""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from themes_v1 import suggest as old_engine  # noqa: E402

from bot.themes import suggest as new_engine  # noqa: E402
from bot.themes.clustering import adjusted_rand_index  # noqa: E402
from bot.themes.embeddings import MODEL_ENGINE, shared_encoder  # noqa: E402
from bot.themes.phrases import is_label_like  # noqa: E402

RESULTS = HERE / "results" / "themes.json"
CORPORA = {
    "nhft": HERE / "data" / "nhs_fft" / "nhft.csv",
    "neas": HERE / "data" / "nhs_fft" / "neas.csv",
}
# People's names written in the corpora's comments (found by reading every capitalised word):
# staff and a manager. Place names (Darlington), units (Orion) and courses (Desmond) are not.
PEOPLE = frozenset({"carol", "di", "howard", "omonori", "rachel", "rebecca"})
SAMPLE_SIZE = 40
TIMED_SIZE = 500


@dataclass(frozen=True)
class Note:
    id: str
    question: int
    topic: str
    domain: str
    text: str


@dataclass(frozen=True)
class Theme:
    label: str
    summary: str
    answer_ids: tuple[str, ...]
    quote_ids: tuple[str, ...]


Engine = Callable[[Sequence[Note]], tuple[list[Theme], dict[str, int]]]


def load(path: Path) -> list[Note]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [
            Note(row["id"], int(row["question"]), row["topic"], row["domain"], row["text"])
            for row in csv.DictReader(handle)
        ]


def run_new(notes: Sequence[Note]) -> tuple[list[Theme], dict[str, int]]:
    answers = [new_engine.AnswerText(n.id, n.question, n.text) for n in notes]
    themes = new_engine.suggest_themes(answers)
    grouping = new_engine.group_answers(answers)
    groups = (
        {}
        if grouping is None
        else dict(zip((a.id for a in grouping.answers), grouping.groups.tolist(), strict=True))
    )
    return [Theme(t.label, t.summary, t.answer_ids, t.quote_ids) for t in themes], groups


def run_old(notes: Sequence[Note]) -> tuple[list[Theme], dict[str, int]]:
    answers = [old_engine.AnswerText(n.id, n.question, n.text) for n in notes]
    themes = old_engine.suggest_themes(answers)
    clustered = old_engine.cluster_answers(answers)
    groups = {}
    if clustered is not None:
        for position, group in zip(
            clustered.positions, clustered.clustering.assignment.tolist(), strict=True
        ):
            groups[answers[position].id] = group
    return [Theme(t.label, t.summary, t.answer_ids, t.quote_ids) for t in themes], groups


ENGINES: dict[str, Engine] = {"old": run_old, "new": run_new}


def main_of(values: Sequence[str]) -> tuple[str, int]:
    return Counter(values).most_common(1)[0]


def purity(notes: dict[str, Note], themes: list[Theme], level: str) -> dict[str, Any]:
    """Quote and answer purity, and whether the themes are different topics, with "topic" the
    coders' label (level "topic") or the framework's major category (level "domain")."""
    quote_purity, answer_purity, mains, ceiling = [], [], [], []
    for theme in themes:
        main, count = main_of([getattr(notes[i], level) for i in theme.answer_ids])
        mains.append(main)
        answer_purity.append(count / len(theme.answer_ids))
        _, in_quotes = main_of([getattr(notes[i], level) for i in theme.quote_ids])
        quote_purity.append(in_quotes / len(theme.quote_ids))
        # the best any choice of as many quotes from the theme's answers could do
        ceiling.append(min(count, len(theme.quote_ids)) / len(theme.quote_ids))
    return {
        "quote_purity": statistics.mean(quote_purity) if themes else None,
        "answer_purity": statistics.mean(answer_purity) if themes else None,
        "quote_ceiling": statistics.mean(ceiling) if themes else None,
        "distinct": len(set(mains)) == len(mains) and len(mains) > 0,
    }


def score(notes: Sequence[Note], themes: list[Theme], groups: dict[str, int]) -> dict[str, Any]:
    by_id = {note.id: note for note in notes}
    polarity = []
    names = 0
    for theme in themes:
        _, side = main_of([str(by_id[i].question == 0) for i in theme.answer_ids])
        polarity.append(side / len(theme.answer_ids))
        words = f"{theme.label} {theme.summary}".casefold().replace("’", "'")
        cleaned = "".join(char if char.isalnum() else " " for char in words)
        names += sum(1 for word in cleaned.split() if word in PEOPLE)
    # Answers outside every group (blank, "nothing", or alone) are each their own group.
    predicted = [groups.get(note.id, f"alone-{note.id}") for note in notes]
    themed = {i for theme in themes for i in theme.answer_ids}
    return {
        "themes": len(themes),
        "topic": purity(by_id, themes, "topic"),
        "domain": purity(by_id, themes, "domain"),
        "polarity_purity": statistics.mean(polarity) if themes else None,
        "unthemed": len(notes) - len(themed),
        "ari_topic": adjusted_rand_index([note.topic for note in notes], predicted),
        "ari_domain": adjusted_rand_index([note.domain for note in notes], predicted),
        "names": names,
        "labels": [theme.label for theme in themes],
        "summaries": [theme.summary for theme in themes],
    }


def broken_rules(notes: Sequence[Note], themes: list[Theme]) -> list[str]:
    """What a caller of the current engine must be able to rely on; the bench fails on any."""
    by_id = {note.id: note for note in notes}
    problems = [f"{len(themes)} themes, more than 3"] if len(themes) > 3 else []
    for theme in themes:
        if not is_label_like(theme.label):
            problems.append(f"label {theme.label!r}")
        if not set(theme.quote_ids) <= set(theme.answer_ids) <= set(by_id):
            problems.append(f"quotes or answers of {theme.label!r} are not its answers")
        if len({by_id[i].question == 0 for i in theme.answer_ids}) != 1:
            problems.append(f"{theme.label!r} mixes strengths and challenges")
    return problems


def agreement(notes: list[Note], seeds: Sequence[int]) -> dict[str, float | int]:
    """How far the coders' topics follow the model's sense of "alike", whatever the grouping:
    over the 40-answer samples, the share of same-side answer pairs the model puts at cosine
    >= 0.5 that the coders gave one topic, and the share of answers whose nearest same-side
    neighbour has their topic. A theme's quotes are such pairs, so this bounds quote purity."""
    from bot.themes.keywords import text_for_encoder

    encoder = shared_encoder()
    assert encoder is not None  # checked in main()
    close, nearest = [], []
    for seed in seeds:
        picked = sample(notes, SAMPLE_SIZE, seed)
        vectors = encoder.encode([text_for_encoder(note.text) for note in picked])
        similarity = vectors @ vectors.T
        for i, note in enumerate(picked):
            same_side = [
                j for j, other in enumerate(picked) if j != i and other.question == note.question
            ]
            if not same_side:
                continue
            best = max(same_side, key=lambda j: (float(similarity[i, j]), -j))
            nearest.append(picked[best].topic == note.topic)
            close += [
                picked[j].topic == note.topic
                for j in same_side
                if j > i and similarity[i, j] >= 0.5
            ]
    return {
        "close_pairs": len(close),
        "close_pairs_same_topic": round(statistics.mean(close), 3) if close else 0.0,
        "nearest_same_topic": round(statistics.mean(nearest), 3) if nearest else 0.0,
    }


def sample(notes: list[Note], size: int, seed: int) -> list[Note]:
    return random.Random(seed).sample(notes, size)  # noqa: S311 - reproducible, not a secret


COLD = """
import sys, time, csv
sys.path[:0] = {paths!r}
started = time.perf_counter(); cpu = time.process_time()
{importer}
rows = list(csv.DictReader(open({path!r}, newline="", encoding="utf-8")))[:{size}]
answers = [AnswerText(r["id"], int(r["question"]), r["text"]) for r in rows]
imported = time.perf_counter()
suggest_themes(answers)
print(time.perf_counter() - imported, time.process_time() - cpu)
"""
IMPORTERS = {
    "old": "from themes_v1.suggest import AnswerText, suggest_themes",
    "new": "from bot.themes.suggest import AnswerText, suggest_themes",
}


def cold_seconds(engine: str, path: Path) -> dict[str, float]:
    """A fresh interpreter: the first call's time, model load included (imports excluded)."""
    code = COLD.format(
        paths=[str(HERE.parent), str(HERE)],
        importer=IMPORTERS[engine],
        path=str(path),
        size=TIMED_SIZE,
    )
    out = subprocess.run(  # noqa: S603 - our own interpreter on our own code
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    return {"wall": round(float(out[0]), 3), "cpu": round(float(out[1]), 3)}


def warm_seconds(engine: Engine, notes: list[Note], repeats: int) -> dict[str, float]:
    runs = []
    for _ in range(repeats):
        started, cpu = time.perf_counter(), time.process_time()
        engine(notes)
        runs.append((time.perf_counter() - started, time.process_time() - cpu))
    best = min(runs)
    return {"wall": round(best[0], 3), "cpu": round(best[1], 3)}


def mean(values: list[Any]) -> float | None:
    present = [float(value) for value in values if value is not None]
    return round(statistics.mean(present), 3) if present else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3, help="warm timed runs (best is kept)")
    parser.add_argument("--seeds", type=int, default=5, help="40-answer samples per corpus")
    parser.add_argument("--first-seed", type=int, default=1, help="seed of the first sample")
    args = parser.parse_args()
    if shared_encoder() is None:
        print("the model did not load: this bench compares model-based engines", file=sys.stderr)
        return 1
    results: dict[str, Any] = {
        "engine": MODEL_ENGINE,
        "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
        "corpora": {},
    }
    problems: list[str] = []
    for corpus, path in CORPORA.items():
        notes = load(path)
        entry: dict[str, Any] = {"answers": len(notes), "samples": {}, "whole": {}, "seconds": {}}
        seeds = range(args.first_seed, args.first_seed + args.seeds)
        entry["agreement"] = agreement(notes, seeds)
        for name, engine in ENGINES.items():
            per_seed = []
            for seed in seeds:
                picked = sample(notes, SAMPLE_SIZE, seed)
                themes, groups = engine(picked)
                per_seed.append(score(picked, themes, groups))
                if name == "new":
                    problems += [f"{corpus} seed {seed}: {p}" for p in broken_rules(picked, themes)]
            entry["samples"][name] = per_seed
            themes, groups = engine(notes)
            entry["whole"][name] = score(notes, themes, groups)
            if name == "new":
                problems += [f"{corpus} whole: {p}" for p in broken_rules(notes, themes)]
            timed = notes[:TIMED_SIZE]
            entry["seconds"][name] = {
                "warm": warm_seconds(engine, timed, args.repeats),
                "cold": cold_seconds(name, path),
            }
        results["corpora"][corpus] = entry
    results["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    results["seeds"] = list(seeds)
    report(results, seeds)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS.relative_to(HERE.parent)}")
    for problem in problems:
        print(f"FAILED: {problem}")
    return 1 if problems else 0


def report(results: dict[str, Any], seeds: Sequence[int]) -> None:
    print(
        f"load average before {results['load_average_before']}, after "
        f"{results['load_average_after']}; {results['cpus']} CPUs; engine {results['engine']}"
    )
    header = (
        f"{'corpus':<6} {'engine':<6} {'quotes':>6} {'(dom.)':>6} {'polarity':>8}"
        f" {'distinct':>8} {'(dom.)':>6} {'themes':>6} {'unthemed':>8} {'ARI':>5} {'(dom.)':>6}"
        f" {'names':>5}"
    )

    def row(corpus: str, name: str, runs: list[dict[str, Any]]) -> str:
        return (
            f"{corpus:<6} {name:<6} {mean([r['topic']['quote_purity'] for r in runs]):>6.2f}"
            f" {mean([r['domain']['quote_purity'] for r in runs]):>6.2f}"
            f" {mean([r['polarity_purity'] for r in runs]):>8.2f}"
            f" {sum(r['topic']['distinct'] for r in runs):>6}/{len(runs)}"
            f" {sum(r['domain']['distinct'] for r in runs):>4}/{len(runs)}"
            f" {mean([r['themes'] for r in runs]):>6.1f}"
            f" {mean([r['unthemed'] for r in runs]):>8.1f}"
            f" {mean([r['ari_topic'] for r in runs]):>5.2f}"
            f" {mean([r['ari_domain'] for r in runs]):>6.2f} {sum(r['names'] for r in runs):>5}"
        )

    print(
        f"\n{len(seeds)} random samples of {SAMPLE_SIZE} answers (seeds {seeds[0]}-{seeds[-1]}):"
        " means (quote and polarity purity,"
        " themes, unthemed, ARI), seeds whose top themes are all different topics (distinct),"
        " names in labels and summaries (total); topic = the coders' label, dom. = the"
        " framework's major category"
    )
    print(header)
    for corpus, entry in results["corpora"].items():
        for name in ENGINES:
            print(row(corpus, name, entry["samples"][name]))
    sizes = ", ".join(f"{c}: {e['answers']}" for c, e in results["corpora"].items())
    print(f"\nwhole corpus ({sizes} answers)")
    print(header)
    for corpus, entry in results["corpora"].items():
        for name in ENGINES:
            print(row(corpus, name, [entry["whole"][name]]))
    print(f"\nseconds for {TIMED_SIZE} answers: wall (CPU of this process)")
    print(f"{'corpus':<6} {'engine':<6} {'warm':>14} {'cold, model load included':>26}")
    for corpus, entry in results["corpora"].items():
        for name in ENGINES:
            warm, cold = entry["seconds"][name]["warm"], entry["seconds"][name]["cold"]
            print(
                f"{corpus:<6} {name:<6} {warm['wall']:>6.2f} ({warm['cpu']:.2f})"
                f" {cold['wall']:>17.2f} ({cold['cpu']:.2f})"
            )
    print(
        "\nhow far the coders' topics follow the model (same samples): same-side pairs at"
        " cosine >= 0.5 with one topic; answers whose nearest neighbour has their topic"
    )
    for corpus, entry in results["corpora"].items():
        agreed = entry["agreement"]
        print(
            f"{corpus:<6} {agreed['close_pairs_same_topic']:.2f} of {agreed['close_pairs']} pairs;"
            f" nearest neighbour {agreed['nearest_same_topic']:.2f}"
        )
    print(
        "\nquote purity (topic) against the best any choice of quotes could reach with the same"
        " themes' answers (the coders' labels choosing)"
    )
    for corpus, entry in results["corpora"].items():
        for name in ENGINES:
            runs = entry["samples"][name]
            print(
                f"{corpus:<6} {name:<6} {mean([r['topic']['quote_purity'] for r in runs]):.2f}"
                f" of at most {mean([r['topic']['quote_ceiling'] for r in runs]):.2f}"
            )
    print("\nlabels, old -> new (same sample)")
    for corpus, entry in results["corpora"].items():
        for seed, (old, new) in enumerate(
            zip(entry["samples"]["old"], entry["samples"]["new"], strict=True), start=seeds[0]
        ):
            print(f"  {corpus} seed {seed}: {' | '.join(old['labels'])}")
            print(f"  {'':<{len(corpus)}} {'':>6}  -> {' | '.join(new['labels'])}")
    print(f"\nsummaries, seed {seeds[0]}, old -> new")
    for corpus, entry in results["corpora"].items():
        for summary in entry["samples"]["old"][0]["summaries"]:
            print(f"  {corpus} old: {summary}")
        for summary in entry["samples"]["new"][0]["summaries"]:
            print(f"  {corpus} new: {summary}")


if __name__ == "__main__":
    sys.exit(main())
