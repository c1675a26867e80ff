"""Simulated learners on the demo pack, through the service layer: do levels have the right shape?

Usage: python bench/simulate.py [--learners N] [--seed S] [--jobs J] [--placement-only]

Builds a real Pathways app on a fresh SQLite file (one per process: `--jobs` runs learners in that many
processes, one by default; each learner is their own person in the course), imports the demo
pack (16 skills), and has simulated learners practise through the services the pages call (`serving.serve_next`
serves the item, `mastery.record_answer` checks it and moves the levels, reviews are scheduled by `reviews`), on
a clock that jumps a day between sittings of ten answers. Profiles: knows nothing (guesses multiple choice,
misses the rest), knows the first half of the map, knows everything, guesses right one time in four, knows
everything but slips one time in ten, memorises worked solutions (right only on an item whose solution it has
seen), and learns as it practises. Three walks:

- course walk: practise each skill in map order until Proficient, at most 15 answers a skill;
- stability: a learner practises one skill for 40 answers in four sittings (how often the level moves);
- placement: a new learner takes the placement check (`services.diagnostic`, as on first launch), then the
  course walk on the same record: how often the check places each skill as the learner truly knows it, and
  the answers it saves over the whole course. `--placement-only` runs just these rows and the course walks
  they are compared with (the same learners as a full run).

Prints the figures bench/README.md quotes, and the machine. Standard library plus the app's own deps.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

SITTING = 10  # answers per sitting; the clock jumps a day between sittings
START = datetime(2026, 9, 1, 9, 0)


@dataclass
class Learner:
    """A simulated learner: which skills they know, and how they answer."""

    profile: str
    rng: random.Random
    knows: Callable[[str], bool] = lambda skill: False
    slip: float = 0.0
    guess: float | None = None  # answers right with this chance whatever they know
    memorises: bool = False
    learns: bool = False
    seen_solutions: set[str] = field(default_factory=set)
    practice: dict[str, int] = field(default_factory=dict)

    def right(self, item, skill: str) -> bool:
        if self.guess is not None:
            return self.rng.random() < self.guess
        if self.memorises:
            return variant(item) in self.seen_solutions
        if self.learns:
            n = self.practice.get(skill, 0)
            return self.rng.random() < 1 / (1 + math.exp(-(-1.0 + 0.35 * n)))
        if self.knows(skill):
            return self.rng.random() >= self.slip
        if item.type == "multiple_choice":  # knows nothing: a blind guess among the choices
            return self.rng.random() < 1 / len(item.choices)
        return False


def variant(item) -> str:
    """Name a question as a memoriser remembers it: the item and the numbers a template put in it."""
    return f"{item.id}:{item.prompt}"


def answer_text(item, right: bool, rng: random.Random) -> str:
    if item.type == "multiple_choice":
        if right:
            return item.answer
        return rng.choice([c.id for c in item.choices if c.id != item.answer])
    if not right:
        return "999999 (wrong)"
    return str(item.answer) if item.type == "numeric" else item.answers[0]


PROFILES: dict[str, Callable[[random.Random, list[str]], Learner]] = {
    "knows nothing": lambda rng, order: Learner("knows nothing", rng),
    "knows the first half": lambda rng, order: Learner(
        "knows the first half", rng, knows=lambda s: order.index(s) < len(order) // 2, slip=0.05),
    "knows everything": lambda rng, order: Learner("knows everything", rng, knows=lambda s: True),
    "guesser at 25%": lambda rng, order: Learner("guesser at 25%", rng, guess=0.25),
    "knower, slips 10%": lambda rng, order: Learner("knower, slips 10%", rng, knows=lambda s: True, slip=0.1),
    "memoriser of solutions": lambda rng, order: Learner("memoriser of solutions", rng, memorises=True),
    "learns while practising": lambda rng, order: Learner("learns while practising", rng, learns=True),
}


class Course:
    """A real app on SQLite with the demo pack imported, and one way to answer through the services."""

    def __init__(self, folder: Path) -> None:
        from flask_migrate import upgrade

        from lti_tool import create_app
        from lti_tool.extensions import db
        from lti_tool.models import Course as CourseRow
        from lti_tool.models import Deployment, Platform
        from lti_tool.services.content import demo_pack_data, import_pack

        self.app = create_app({"TESTING": True, "SECRET_KEY": "simulation-only", "INSTANCE_PATH": str(folder),
                               "DATABASE_URL": f"sqlite:///{folder / 'simulate.db'}", "BASE_URL": "http://127.0.0.1:1"})
        self.context = self.app.app_context()
        self.context.push()
        upgrade()
        issuer = "https://lms.example.invalid"
        platform_row = Platform(name="Simulation", issuer=issuer, client_id="sim", auth_login_url=issuer + "/login",
                                auth_token_url=issuer + "/token", key_set_url=issuer + "/jwks")
        db.session.add(platform_row)
        db.session.flush()
        deployment = Deployment(platform_id=platform_row.id, deployment_id="1")
        db.session.add(deployment)
        db.session.flush()
        course = CourseRow(platform_id=platform_row.id, deployment_id=deployment.id, context_id="sim", title="Sim")
        db.session.add(course)
        db.session.commit()
        self.platform_id, self.course_id = platform_row.id, course.id
        self.pack = import_pack(course.id, demo_pack_data(), now=START)
        self.order = list(self.pack.skill_graph.topological_order())
        self.people = 0

    def person(self) -> int:
        from lti_tool.extensions import db
        from lti_tool.models import Enrollment, Person

        self.people += 1
        person = Person(platform_id=self.platform_id, sub=f"learner-{self.people}", name=f"Learner {self.people}")
        db.session.add(person)
        db.session.flush()
        db.session.add(Enrollment(course_id=self.course_id, person_id=person.id, role="student"))
        db.session.commit()
        return person.id

    def answer(self, learner: Learner, person_id: int, skill: str, now: datetime):
        from lti_tool.learning.mastery import Level
        from lti_tool.services.mastery import record_answer
        from lti_tool.services.serving import serve_next

        question = serve_next(self.course_id, person_id, skill, self.pack, now=now)
        item = question.item
        right = learner.right(item, skill)
        result = record_answer(self.course_id, person_id, question.id, answer_text(item, right, learner.rng),
                               now=now)
        learner.seen_solutions.add(variant(item))  # the feedback page shows the worked solution
        learner.practice[skill] = learner.practice.get(skill, 0) + 1
        view = next((v for v in result.views if v.skill_id == skill), None)
        return view.level if view else Level.NOT_STARTED

    def first_review_days(self, person_id: int, skill: str, mastered_at: datetime) -> float | None:
        from lti_tool.extensions import db
        from lti_tool.models import ReviewSchedule

        row = db.session.scalars(db.select(ReviewSchedule).where(
            ReviewSchedule.course_id == self.course_id, ReviewSchedule.person_id == person_id,
            ReviewSchedule.skill_id == skill)).first()
        return None if row is None else (row.due_at - mastered_at).total_seconds() / 86_400


class Clock:
    """A learner's clock: a few seconds between answers, a day between sittings of ten answers."""

    def __init__(self) -> None:
        self.now = START
        self.answers = 0

    def tick(self) -> datetime:
        self.answers += 1
        if self.answers % SITTING == 1 and self.answers > 1:
            self.now += timedelta(days=1)
        else:
            self.now += timedelta(seconds=40)
        return self.now


#: Where a learner's answers went, in the order the breakdown prints them.
KINDS = ("placement, known", "placement, unknown", "practice, known", "practice, unknown", "review", "unit check")


def breakdown(course: Course, learner: Learner, person: int) -> dict[str, int]:
    """Count a learner's stored answers by kind and by whether the learner truly knows the skill.

    Read back from the answers the services stored (their `source`, as `record_answer` kept it), so a review or
    unit check the product slipped in would show. Also: wrong answers on known skills (slips), answers kept
    without mastery credit, and the answers on known skills (placement and practice) above the 3 a skill the
    Proficient rules need at least (`min_attempts_proficient`, `min_items_proficient`): the known half's floor.
    """
    from lti_tool.extensions import db
    from lti_tool.models import ItemResponse

    rows = db.session.scalars(db.select(ItemResponse).where(
        ItemResponse.course_id == course.course_id, ItemResponse.person_id == person).order_by(ItemResponse.id))
    counts = dict.fromkeys((*KINDS, "slips", "not credited", "known above 3 a skill"), 0)
    for row in rows:
        known = learner.guess is None and learner.knows(row.skill_ids[0])
        half = "known" if known else "unknown"
        if row.source == "diagnostic":
            counts[f"placement, {half}"] += 1
        elif row.source == "practice":
            counts[f"practice, {half}"] += 1
        else:
            counts["unit check" if row.source == "unit_check" else "review"] += 1
        counts["slips"] += known and not row.correct
        counts["not credited"] += not row.credited
    known_skills = sum(learner.guess is None and learner.knows(s) for s in course.order)
    counts["known above 3 a skill"] = counts["placement, known"] + counts["practice, known"] - 3 * known_skills
    return counts


def course_walk(course: Course, learner: Learner, budget: int = 15, *, person: int | None = None,
                clock: Clock | None = None) -> dict:
    """Practise each skill in map order until Proficient (or `budget` answers); return what happened.

    A learner who took the placement check first (`person`, `clock` given) goes on with the same record: a skill
    its placement answers already made Proficient is not practised again.
    """
    from lti_tool.learning.mastery import Level
    from lti_tool.services.mastery import skill_views

    person = course.person() if person is None else person
    clock = Clock() if clock is None else clock
    to_proficient: dict[str, int] = {}
    already = {v.skill_id for v in skill_views(course.course_id, person) if v.level.rank >= Level.PROFICIENT.rank}
    for skill in course.order:
        if skill in already:
            to_proficient[skill] = 0
            continue
        for n in range(1, budget + 1):
            level = course.answer(learner, person, skill, clock.tick())
            if level.rank >= Level.PROFICIENT.rank:
                to_proficient[skill] = n
                break
    return {"answers": clock.answers, "to_proficient": to_proficient, "all_proficient": len(to_proficient) == len(
        course.order), "breakdown": breakdown(course, learner, person)}


def placement_walk(course: Course, learner: Learner) -> dict:
    """Take the placement check (as a new student does on first launch), then the course walk on the same record.

    Returns the check's length, how its placement per skill compares with what the learner truly knows, and the
    answers of the whole course (placement answers included), to compare with the course walk without the check.
    """
    from lti_tool.learning.diagnostic import Belief
    from lti_tool.services.diagnostic import answer_question, current_question, placements

    person = course.person()
    clock = Clock()
    asked = 0
    while True:
        now = clock.tick()
        question = current_question(course.course_id, person, now=now)
        if question is None or question.item is None:
            clock.answers -= 1  # no question was asked on this tick
            break
        item = question.item
        right = learner.right(item, item.skills[0])
        asked += 1
        if answer_question(course.course_id, person, item.id, answer_text(item, right, learner.rng), not_sure=False,
                           now=now):
            break
    placed = placements(course.course_id, person)
    known = {Belief.KNOWN, Belief.LIKELY_KNOWN}
    truth = {s: learner.guess is None and learner.knows(s) for s in course.order}
    verdicts = {s: (placed[s].belief in known) if s in placed else None for s in course.order}
    walk = course_walk(course, learner, person=person, clock=clock)
    return {"asked": asked, "placed": sum(v is not None for v in verdicts.values()),
            "right": sum(v is not None and v == truth[s] for s, v in verdicts.items()),
            "skills": len(course.order), "answers": walk["answers"], "to_proficient": walk["to_proficient"],
            "breakdown": walk["breakdown"]}


def stability_walk(course: Course, learner: Learner, skill: str, answers: int = 40) -> dict:
    """Practise one skill for `answers` answers; count level changes, drops, and the first review interval."""
    from lti_tool.learning.mastery import Level

    person = course.person()
    clock = Clock()
    levels = []
    mastered_at = None
    review = None
    for _ in range(answers):
        now = clock.tick()
        levels.append(course.answer(learner, person, skill, now))
        if mastered_at is None and levels[-1] is Level.MASTERED:
            mastered_at = now
            # Read the schedule at once: later answers on a due skill are reviews and move it on.
            review = course.first_review_days(person, skill, mastered_at)
    changes = sum(1 for a, b in zip(levels, levels[1:], strict=False) if a is not b)
    drops = sum(1 for a, b in zip(levels, levels[1:], strict=False) if b.rank < a.rank)
    first = next((i for i, lv in enumerate(levels) if lv.rank >= Level.PROFICIENT.rank), None)
    settled = levels[first:] if first is not None else []
    after = sum(1 for a, b in zip(settled, settled[1:], strict=False)
                if a is not b and not (a is Level.PROFICIENT and b is Level.MASTERED))
    return {"changes": changes, "drops": drops, "unsettled": after, "mastered": mastered_at is not None,
            "to_mastered": None if mastered_at is None else levels.index(Level.MASTERED) + 1, "review_days": review}


def machine() -> str:
    return (f"{platform.platform()}; {platform.processor() or platform.machine()}; {os.cpu_count()} CPUs; "
            f"Python {platform.python_version()}")


def share(values) -> str:
    values = list(values)
    return f"{sum(values) / len(values):.1%}" if values else "n/a"


#: The profiles of the placement rows. The memoriser comes last, so every other learner is drawn as before it
#: was added: a lucky check that places it as knowing a skill shortens that skill's confirmation (false credit).
PLACEMENT_PROFILES = ("knows nothing", "knows the first half", "knows everything", "knower, slips 10%",
                      "guesser at 25%", "memoriser of solutions")
#: The profiles of the breakdown of where the answers go.
BREAKDOWN_PROFILES = ("knows nothing", "knows the first half", "knows everything", "knower, slips 10%",
                      "guesser at 25%", "memoriser of solutions")
STABILITY_PROFILES = ("knower, slips 10%", "knows everything", "guesser at 25%", "learns while practising")

_COURSE: Course | None = None  # one app and database per process, made on its first task


def _run_task(task: tuple[str, str, float, int | None, str]) -> dict:
    """Run one simulated learner in this process's own app: (walk, profile, learner seed, skill index, folder)."""
    global _COURSE
    walk, name, seed, skill_index, folder = task
    if _COURSE is None:
        own = Path(folder) / f"process-{os.getpid()}"
        own.mkdir()
        _COURSE = Course(own)
    learner = PROFILES[name](random.Random(seed), _COURSE.order)
    if walk == "course":
        return course_walk(_COURSE, learner)
    if walk == "stability":
        return stability_walk(_COURSE, learner, _COURSE.order[skill_index])
    return placement_walk(_COURSE, learner)


def _tasks(seed: int, learners: int, skills: int, placement_only: bool) -> list[tuple[str, str, float, int | None]]:
    """Every learner to simulate, seeded as the one-process version drew them (so both give the same learners)."""
    rng = random.Random(seed)
    tasks: list[tuple[str, str, float, int | None]] = []
    for name in PROFILES:
        tasks += [("course", name, rng.random(), None) for _ in range(learners)]
    for name in STABILITY_PROFILES:
        for _ in range(learners):
            learner_seed = rng.random()
            tasks.append(("stability", name, learner_seed, rng.randrange(skills)))
    for name in PLACEMENT_PROFILES:
        tasks += [("placement", name, rng.random(), None) for _ in range(learners)]
    if placement_only:
        # The placement rows and the course walks they are compared with; the same learners as a full run.
        tasks = [t for t in tasks if t[0] == "placement" or (t[0] == "course" and t[1] in PLACEMENT_PROFILES)]
    return tasks


def _run_all(tasks: list[tuple[str, str, float, int | None]], jobs: int, folder: str) -> list[dict]:
    with_folder = [(*task, folder) for task in tasks]
    if jobs <= 1:
        return [_run_task(task) for task in with_folder]
    # Learners are independent (each their own person in the course), so each process runs some in its own app
    # and database; longest walks first, so the processes finish together.
    longest_first = sorted(range(len(tasks)), key=lambda i: tasks[i][0] != "placement")
    results: list[dict] = [{}] * len(tasks)
    with multiprocessing.get_context("spawn").Pool(jobs) as pool:
        for index, result in zip(longest_first, pool.imap(_run_task, [with_folder[i] for i in longest_first]),
                                 strict=True):
            results[index] = result
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=12, help="learners per profile (default 12)")
    parser.add_argument("--seed", type=int, default=1)
    # One process by default: on the shared 2-core machine two were no faster (bench/README.md).
    parser.add_argument("--jobs", type=int, default=1,
                        help="processes to run learners in, each with its own app and database (default 1)")
    parser.add_argument("--placement-only", action="store_true",
                        help="only the placement rows and the course walks they are compared with")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    from lti_tool.learning.coursepack import load_pack
    from lti_tool.services.content import demo_pack_data

    order = list(load_pack(demo_pack_data(), sample_templates=False).skill_graph.topological_order())
    tasks = _tasks(args.seed, args.learners, len(order), args.placement_only)
    with tempfile.TemporaryDirectory() as folder:
        results = _run_all(tasks, args.jobs, folder)
    runs: dict[tuple[str, str], list[dict]] = {}
    for (walk, name, _, _), result in zip(tasks, results, strict=True):
        runs.setdefault((walk, name), []).append(result)
    walks = {name: runs[("course", name)] for name in PROFILES if ("course", name) in runs}
    half = len(order) // 2
    print(f"Demo pack: {len(order)} skills; {args.learners} learners per profile; seed {args.seed}; sittings of "
          f"{SITTING} answers a day apart; course walk: each skill until Proficient, at most 15 answers")
    print(f"{'profile':<26}{'answers':>9}{'all Prof.':>11}{'skills Prof.':>14}{'median to Prof.':>17}"
          f"{'<= 6 answers':>14}")
    for name, runs_of in walks.items():
        counts = [n for r in runs_of for n in r["to_proficient"].values()]
        skills_prof = sum(len(r["to_proficient"]) for r in runs_of) / (len(runs_of) * len(order))
        print(f"{name:<26}{statistics.median(r['answers'] for r in runs_of):>9.0f}"
              f"{share(r['all_proficient'] for r in runs_of):>11}{skills_prof:>14.1%}"
              f"{(statistics.median(counts) if counts else float('nan')):>17}"
              f"{share(n <= 6 for n in counts):>14}")
    if not args.placement_only:
        unknown = [len([s for s in r["to_proficient"] if order.index(s) >= half])
                   for r in walks["knows the first half"]]
        print(f"false Proficient: guessers {share(len(r['to_proficient']) > 0 for r in walks['guesser at 25%'])} "
              f"of learners ({sum(len(r['to_proficient']) for r in walks['guesser at 25%'])} of "
              f"{len(walks['guesser at 25%']) * len(order)} skills); knows nothing "
              f"{sum(len(r['to_proficient']) for r in walks['knows nothing'])} skills; first-half knower on the "
              f"unknown half {sum(unknown)} of {len(unknown) * (len(order) - half)} skills")
        everyone = walks["knows everything"]
        print(f"knows everything: all 16 Proficient in median {statistics.median(r['answers'] for r in everyone):.0f}"
              f" answers (max {max(r['answers'] for r in everyone)})")

        print(f"\nStability: one skill, 40 answers in four sittings, {args.learners} learners per profile")
        print(f"{'profile':<26}{'changes':>9}{'drops':>7}{'unsettled':>11}{'Mastered':>10}{'to Mastered':>13}"
              f"{'1st review (days)':>19}")
        for name in STABILITY_PROFILES:
            runs_of = runs[("stability", name)]
            to_mastered = [r["to_mastered"] for r in runs_of if r["to_mastered"]]
            reviews = [r["review_days"] for r in runs_of if r["review_days"] is not None]
            print(f"{name:<26}{statistics.mean(r['changes'] for r in runs_of):>9.2f}"
                  f"{statistics.mean(r['drops'] for r in runs_of):>7.2f}"
                  f"{statistics.mean(r['unsettled'] for r in runs_of):>11.2f}"
                  f"{share(r['mastered'] for r in runs_of):>10}"
                  f"{(statistics.median(to_mastered) if to_mastered else float('nan')):>13}"
                  f"{(min(reviews) if reviews else float('nan')):>19.1f}")
        print("changes: level changes in 40 answers, climbing included; drops: changes down; unsettled: changes after "
              "first reaching Proficient other than Proficient -> Mastered; 1st review: the shortest interval from "
              "Mastered to the first review")
        nothing = statistics.median(r["answers"] for r in walks["knows nothing"])
        first_half = statistics.median(r["answers"] for r in walks["knows the first half"])
        print(f"first-half knower: {first_half:.0f} answers, {first_half / nothing:.1%} of the knows-nothing learner's "
              f"{nothing:.0f}; floor with this walk: (8 known skills x 3 answers + 8 x 15) / 240 = 60.0%")

    print(f"\nPlacement check first, then the course walk on the same record; {args.learners} learners per profile")
    print(f"{'profile':<26}{'check items':>12}{'placed':>8}{'placed right':>14}{'of all 16':>11}"
          f"{'answers':>9}{'without':>9}{'saved':>7}")
    for name in PLACEMENT_PROFILES:
        runs_of = runs[("placement", name)]
        placed = sum(r["placed"] for r in runs_of)
        right = sum(r["right"] for r in runs_of)
        without = statistics.median(r["answers"] for r in walks[name])
        with_check = statistics.median(r["answers"] for r in runs_of)
        print(f"{name:<26}{statistics.median(r['asked'] for r in runs_of):>12.0f}"
              f"{placed / (len(runs_of) * len(order)):>8.0%}{(right / placed if placed else 0):>14.1%}"
              f"{right / (len(runs_of) * len(order)):>11.1%}{with_check:>9.0f}{without:>9.0f}"
              f"{without - with_check:>7.0f}")
    print("check items: questions the placement check asked (median); placed: skills it gave a belief about; "
          "placed right: known/likely known vs not yet/likely not yet against what the learner truly knows "
          "(a guesser knows nothing); of all 16: right placements over every skill; answers: the placement "
          "check plus the course walk after it (median); without: the course walk alone; saved: the difference")
    checked_walks = {name: runs[("placement", name)] for name in PLACEMENT_PROFILES}
    for name in ("guesser at 25%", "memoriser of solutions"):
        runs_of = checked_walks[name]
        print(f"false Proficient with the check first, {name}: {share(len(r['to_proficient']) > 0 for r in runs_of)}"
              f" of learners ({sum(len(r['to_proficient']) for r in runs_of)} of {len(runs_of) * len(order)} skills)")
    knower = [n for r in checked_walks["knower, slips 10%"] for n in r["to_proficient"].values()]
    print(f"knower, slips 10%, with the check first: skills Proficient "
          f"{len(knower) / (len(checked_walks['knower, slips 10%']) * len(order)):.1%}, median practice answers to "
          f"Proficient {statistics.median(knower)}, <= 6 answers {share(n <= 6 for n in knower)}")
    nothing_checked = statistics.median(r["answers"] for r in checked_walks["knows nothing"])
    first_checked = statistics.median(r["answers"] for r in checked_walks["knows the first half"])
    first_alone = statistics.median(r["answers"] for r in walks["knows the first half"])
    nothing_alone = statistics.median(r["answers"] for r in walks["knows nothing"])
    print(f"first-half knower with the check first: {first_checked:.0f} answers (check included), "
          f"{first_checked / nothing_checked:.1%} of the knows-nothing learner's {nothing_checked:.0f} (check "
          f"included); without the check: {first_alone:.0f} of {nothing_alone:.0f} = {first_alone / nothing_alone:.1%}")
    print(f"\nWhere the answers go (mean per learner; the course walk, then with the placement check first; "
          f"{args.learners} learners per profile)")
    print(f"{'profile, walk':<36}{'Prof.':>6}{'total':>7}{'place known':>12}{'place unkn.':>12}{'prac. known':>12}"
          f"{'prac. unkn.':>12}{'review':>8}{'unit ch.':>9}{'slips':>7}{'no credit':>10}{'known > 3/skill':>16}")
    for name in BREAKDOWN_PROFILES:
        for walk, label in (("course", "walk"), ("placement", "check + walk")):
            runs_of = runs.get((walk, name))
            if not runs_of:
                continue
            cells = {key: statistics.mean(r["breakdown"][key] for r in runs_of) for key in runs_of[0]["breakdown"]}
            print(f"{name + ', ' + label:<36}{statistics.mean(len(r['to_proficient']) for r in runs_of):>6.1f}"
                  f"{statistics.mean(r['answers'] for r in runs_of):>7.1f}"
                  + "".join(f"{cells[key]:>{width}.1f}" for key, width in zip(
                      (*KINDS, "slips", "not credited", "known above 3 a skill"), (12, 12, 12, 12, 8, 9, 7, 10, 16),
                      strict=True)))
    print("Prof.: skills Proficient at the end; known/unkn.: skills the learner truly knows or not (a guesser "
          "knows none); slips: wrong answers on known skills; no credit: answers kept without mastery evidence (a "
          "variant repeated within a sitting); known > 3/skill: answers on known skills (check and practice) above "
          "the 3 right answers on 3 distinct items a skill needs for Proficient (2 on a skill the check placed as "
          "known, so with the check first it can be below 0). A course-walk skill ends at Proficient or 15 answers, "
          "so the unknown half costs 15 a skill whatever the product does.")
    if walks.get("knows nothing") and walks.get("knows the first half"):
        nothing = statistics.mean(r["answers"] for r in walks["knows nothing"])
        first = walks["knows the first half"]
        unknown = statistics.mean(r["breakdown"]["practice, unknown"] for r in first)
        known = statistics.mean(r["breakdown"]["practice, known"] for r in first)
        floor = 3 * half + unknown
        print(f"first-half knower vs knows nothing (means): {unknown:.1f} on the unknown half + {known:.1f} on the "
              f"known half = {unknown + known:.1f} of {nothing:.1f} = {(unknown + known) / nothing:.1%}; with no "
              f"slip the known half needs {3 * half} ({floor / nothing:.1%}); each slip costs "
              f"{(known - 3 * half) / max(statistics.mean(r['breakdown']['slips'] for r in first), 1e-9):.2f} "
              f"answers on average (at least 1: Proficient needs 3 right answers)")
        # The rules' floor for the median: a slip costs at least one answer, and a learner who never slips in the
        # known half's 3 answers a skill is the less likely case, so most learners need more than the floor.
        slip = PROFILES["knows the first half"](random.Random(0), order).slip
        clean = (1 - slip) ** (3 * half)
        n = len(first)
        need = n // 2 + 1  # learners who never slip for the median of n to sit on the floor
        chance = sum(math.comb(n, k) * clean ** k * (1 - clean) ** (n - k) for k in range(need, n + 1))
        print(f"  no slip in {3 * half} answers at {slip:.0%}: {clean:.0%} of learners; the others need at least "
              f"{floor + 1:.0f} answers ({(floor + 1) / nothing:.1%}); the median of {n} is on the floor "
              f"({floor:.0f}, {floor / nothing:.1%}) only when {need} of them never slip: {chance:.1%} of samples; "
              f"here {sum(r['breakdown']['slips'] == 0 for r in first)} never slipped")
        checked = runs.get(("placement", "knows the first half"))
        if checked:
            above = statistics.mean(r["breakdown"]["known above 3 a skill"] for r in checked)
            slips = statistics.mean(r["breakdown"]["slips"] for r in checked)
            without = statistics.mean(r["breakdown"]["known above 3 a skill"] for r in first)
            print(f"  on known skills above 3 a skill: {without:.1f} in the walk "
                  f"({statistics.mean(r['breakdown']['slips'] for r in first):.1f} slips), {above:.1f} with the "
                  f"check first ({slips:.1f} slips)")
    print(f"Ran in {time.perf_counter() - started:.0f} s with {args.jobs} process(es); load average "
          f"{' '.join(Path('/proc/loadavg').read_text().split()[:3]) if Path('/proc/loadavg').exists() else 'n/a'}. "
          f"Machine: {machine()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
