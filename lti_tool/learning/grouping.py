"""Flexible groups for the next lesson, from learners' readiness on the skills the teacher chose.

Same-need groups put learners with similar levels together, for reteaching at the right level; mixed groups
spread levels evenly, for projects. Groups are plain data with a reason in plain words, deterministic for the
same input (ties broken by student id), and meant to be edited by the teacher: they are a starting point,
regrouped every lesson, never a fixed track.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from .mastery import LEVELS, Level
from .messages import N_

MIN_SIZE = 3
MAX_SIZE = 5

#: What a same-need group does next, by the lowest level in the group (meet the learners who need most).
NEXT_MOVE: Mapping[Level, str] = {
    Level.NOT_STARTED: N_(": introduce it with a short demonstration and a worked example."),
    Level.ATTEMPTED: N_(": reteach from the start with worked examples."),
    Level.FAMILIAR: N_(": reteach with worked examples."),
    Level.PROFICIENT: N_(": mixed practice with feedback to reach Mastered."),
    Level.MASTERED: N_(": a challenge problem that stretches it further."),
}

#: A reason as catalogued sentence fragments and their values, so pages can rebuild it in their language.
Parts = tuple[tuple[str, dict[str, object]], ...]

_NUMBER_WORDS = ("no one", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


@dataclass(frozen=True)
class Group:
    """One group: who is in it, which skills it is about, and why, in words a teacher can act on."""

    number: int
    kind: str
    student_ids: tuple[str, ...]
    skill_ids: tuple[str, ...]
    reason: str
    reason_parts: Parts = ()


def _profile(levels: Mapping[str, Level], skill_ids: Sequence[str]) -> tuple[int, ...]:
    return tuple(levels.get(skill_id, Level.NOT_STARTED).rank for skill_id in skill_ids)


def _sorted_students(
    levels_by_student: Mapping[str, Mapping[str, Level]], skill_ids: Sequence[str]
) -> list[tuple[str, tuple[int, ...]]]:
    rows = [(student_id, _profile(levels, skill_ids)) for student_id, levels in levels_by_student.items()]
    # Least ready first: those below Proficient on a chosen skill, then those at Proficient or above on all, then
    # those who mastered all (so each need sits together in the order). Those below Proficient come by their
    # weakest skill (the first chosen on a tie), so those who need the same lesson sit together; then by their
    # level on it, total level, profile and id, which keep the order the same every time.
    rows.sort(key=lambda row: (_band(row[1]), _weakest(row[1]) if _band(row[1]) == 0 else 0,
                               min(row[1], default=0), sum(row[1]), row[1], row[0]))
    return rows


def _weakest(profile: tuple[int, ...]) -> int:
    return profile.index(min(profile))


def _band(profile: tuple[int, ...]) -> int:
    lowest = min(profile, default=Level.NOT_STARTED.rank)
    return 0 if lowest < Level.PROFICIENT.rank else 2 if lowest == Level.MASTERED.rank else 1


def _check(skill_ids: Sequence[str], min_size: int, max_size: int) -> None:
    if not skill_ids:
        raise ValueError("Choose at least one skill to group by.")
    if not 1 <= min_size <= max_size:
        raise ValueError("Group sizes need 1 <= min_size <= max_size.")


def same_need_groups(
    levels_by_student: Mapping[str, Mapping[str, Level]],
    skill_ids: Sequence[str],
    *,
    skill_names: Mapping[str, str] | None = None,
    min_size: int = MIN_SIZE,
    max_size: int = MAX_SIZE,
    placed: Mapping[str, Collection[str]] | None = None,
) -> list[Group]:
    """Return groups of learners with similar levels on the skills, least ready group first.

    `placed` names, per learner, the skills whose level in `levels_by_student` only the placement check suggests
    (their own recorded level is lower): the reason says so rather than calling them Proficient.

    Learners are ordered by readiness and cut into runs of `min_size` to `max_size`, choosing the cuts that keep
    levels inside each group as alike as possible (least squared difference, by dynamic programming). A class
    too small or oddly sized for the bounds gets the closest sizes possible, with one exception: a learner who
    is Proficient or above on every chosen skill is never put in a group that would be introduced to it or
    retaught it (one with someone below Proficient); they form a smaller group of their own instead.
    """
    _check(skill_ids, min_size, max_size)
    rows = _sorted_students(levels_by_student, skill_ids)
    n = len(rows)
    if n == 0:
        return []
    dims = len(skill_ids)
    # Prefix sums per skill of ranks and squared ranks give any run's spread in O(skills).
    sums = [[0.0] * dims for _ in range(n + 1)]
    squares = [[0.0] * dims for _ in range(n + 1)]
    for i, (_, profile) in enumerate(rows):
        for d in range(dims):
            sums[i + 1][d] = sums[i][d] + profile[d]
            squares[i + 1][d] = squares[i][d] + profile[d] ** 2
    # Runs never exceed max_size; shorter ones are allowed so every class can be split, at a cost above any spread.
    out_of_bounds = 1000.0 * (16 * dims * n + 1)
    reteach_below = Level.PROFICIENT.rank
    # Prefix counts of learners Proficient or above on every chosen skill and of those below on one or more, and
    # per skill of those below Proficient on it.
    done = [0] * (n + 1)
    behind = [0] * (n + 1)
    below = [[0] * dims for _ in range(n + 1)]
    for i, (_, profile) in enumerate(rows):
        done[i + 1] = done[i] + (min(profile) >= reteach_below)
        behind[i + 1] = behind[i] + (min(profile) < reteach_below)
        for d in range(dims):
            below[i + 1][d] = below[i][d] + (profile[d] < reteach_below)

    def cost(start: int, end: int) -> float:
        size = end - start
        if done[end] > done[start] and behind[end] > behind[start]:
            # A group with someone below Proficient is introduced to the skill or retaught it; someone who has
            # shown it all gains nothing there (and the advice would not be about them).
            return math.inf
        if behind[end] - behind[start] == size and not any(below[end][d] - below[start][d] == size
                                                          for d in range(dims)):
            # The lesson such a group gets is about one skill (its focus): someone already Proficient on every
            # skill the others need would be introduced to what their own badge says they know.
            return math.inf
        spread = sum(
            squares[end][d] - squares[start][d] - (sums[end][d] - sums[start][d]) ** 2 / size for d in range(dims)
        )
        # Squared, so two groups each one short beat one group two short; the tiny size term prefers even
        # sizes (4 + 4 + 3 over 5 + 3 + 3) when spreads tie, e.g. a class all at the same level.
        miss = max(min_size - size, 0) ** 2
        return spread + out_of_bounds * miss + 1e-6 * size * size

    best = [math.inf] * (n + 1)
    cut = [0] * (n + 1)
    best[0] = 0.0
    longest = max(max_size, min_size)
    for end in range(1, n + 1):
        for start in range(max(0, end - longest), end):
            value = best[start] + cost(start, end)
            # Strict "<" keeps the first (shortest-run-first) optimum, so ties resolve the same way every time.
            if value < best[end] - 1e-9:
                best[end], cut[end] = value, start
    runs: list[tuple[int, int]] = []
    end = n
    while end > 0:
        runs.append((cut[end], end))
        end = cut[end]
    runs.reverse()

    names = skill_names or {}
    groups = []
    placed = placed or {}
    for number, (start, end) in enumerate(runs, start=1):
        members = rows[start:end]
        groups.append(
            Group(
                number=number,
                kind="same-need",
                student_ids=tuple(sorted(student_id for student_id, _ in members)),
                skill_ids=tuple(skill_ids),
                **_reason(_same_need_reason([profile for _, profile in members], skill_ids, names,
                                            [placed.get(student_id, ()) for student_id, _ in members])),
            )
        )
    return groups


def mixed_groups(
    levels_by_student: Mapping[str, Mapping[str, Level]],
    skill_ids: Sequence[str],
    *,
    skill_names: Mapping[str, str] | None = None,
    min_size: int = MIN_SIZE,
    max_size: int = MAX_SIZE,
) -> list[Group]:
    """Return groups that each hold a spread of levels, balanced across groups, for projects.

    Group count is the fewest that respects `max_size`; learners are dealt from most to least ready in a
    "snake" (1, 2, 3, 3, 2, 1, ...), so every group gets some of each level and similar totals.
    """
    _check(skill_ids, min_size, max_size)
    rows = [(student_id, _profile(levels, skill_ids)) for student_id, levels in levels_by_student.items()]
    # Most ready first; equals by student id, so the same class always gives the same groups.
    rows.sort(key=lambda row: (-sum(row[1]), tuple(-rank for rank in row[1]), row[0]))
    n = len(rows)
    if n == 0:
        return []
    count = max(math.ceil(n / max_size), 1)
    # Fewer, larger groups when the class would otherwise leave groups under the minimum.
    while count > 1 and n // count < min_size:
        count -= 1
    capacity = [n // count + (1 if g < n % count else 0) for g in range(count)]
    members: list[list[tuple[str, tuple[int, ...]]]] = [[] for _ in range(count)]
    g, step = 0, 1
    for row in rows:
        while len(members[g]) >= capacity[g]:
            g, step = _snake(g, step, count)
        members[g].append(row)
        g, step = _snake(g, step, count)
    names = skill_names or {}
    return [
        Group(
            number=number,
            kind="mixed",
            student_ids=tuple(sorted(student_id for student_id, _ in group)),
            skill_ids=tuple(skill_ids),
            **_reason(_mixed_reason([profile for _, profile in group], skill_ids, names)),
        )
        for number, group in enumerate(members, start=1)
    ]


def _snake(g: int, step: int, count: int) -> tuple[int, int]:
    if count == 1:
        return 0, 1
    nxt = g + step
    if 0 <= nxt < count:
        return nxt, step
    # At either end the same group gets a second turn, which is what balances the totals.
    return g, -step


def _reason(parts: Parts) -> dict[str, object]:
    """Return a group's reason in English (counts up to ten in words) with the fragments it was built from."""
    def english(key: str, value: object) -> object:
        return _NUMBER_WORDS[value] if key == "count" and isinstance(value, int) and value < len(_NUMBER_WORDS) \
            else value

    text = "".join(template % {key: english(key, value) for key, value in values.items()} if values else template
                   for template, values in parts)
    return {"reason": text, "reason_parts": parts}


def _level_words(level: Level, skill: str) -> tuple[str, dict[str, object]]:
    if level is Level.NOT_STARTED:
        return N_(" not started on %(skill)s"), {"skill": skill}
    if level is Level.MASTERED:
        return N_(" Mastered %(skill)s"), {"skill": skill}
    return N_(" %(level)s with %(skill)s"), {"level": level.value, "skill": skill}


#: How a same-need reason names its members: by the levels they hold, or (every level there only the placement
#: check's suggestion) by what the check suggests they know.
_SUBJECTS = {
    False: (N_("This student is"), N_("Both are"), N_("All %(count)s are")),
    True: (N_("The placement check suggests this student knows"), N_("The placement check suggests both know"),
           N_("The placement check suggests all %(count)s know")),
}


def _subject(size: int, *, by_check: bool = False) -> tuple[str, dict[str, object]]:
    one, two, many = _SUBJECTS[by_check]
    if size == 1:
        return one, {}
    if size == 2:
        return two, {}
    return many, {"count": size}


def _same_need_reason(profiles: Sequence[tuple[int, ...]], skill_ids: Sequence[str], names: Mapping[str, str],
                      placed: Sequence[Collection[str]] = ()) -> Parts:
    levels = LEVELS
    described: list[tuple[str, dict[str, object]]] = []
    lowest_overall = Level.MASTERED
    focus = names.get(skill_ids[0], skill_ids[0])
    focus_placed = False
    # Per skill, how many members' level there only the placement check suggests: their own badges say "Not
    # started", so the reason must not call them Proficient (one truth per skill on the page).
    by_check = [sum(skill_id in (placed[i] if i < len(placed) else ()) for i in range(len(profiles)))
                for skill_id in skill_ids]
    all_by_check = all(count == len(profiles) for count in by_check)
    # A group below Proficient is taught the weakest skill that none of them is Proficient on yet (grouping makes
    # sure there is one): a member's badge never says Proficient on the skill the group is introduced to.
    behind = any(min(profile) < Level.PROFICIENT.rank for profile in profiles)
    for d, skill_id in enumerate(skill_ids):
        name = names.get(skill_id, skill_id)
        ranks = sorted({profile[d] for profile in profiles})
        low, high = levels[ranks[0]], levels[ranks[-1]]
        if low.rank < lowest_overall.rank and not (behind and high.rank >= Level.PROFICIENT.rank):
            lowest_overall, focus, focus_placed = low, name, by_check[d] == len(profiles)
        if all_by_check:
            described.append((N_(" %(skill)s"), {"skill": name}))
        elif low is high and by_check[d] == len(profiles):
            described.append((N_(" likely to know %(skill)s (the placement check suggests it)"), {"skill": name}))
        elif low is high and by_check[d]:
            described.append((N_(" %(level)s with %(skill)s, or the placement check suggests they know it"),
                              {"level": low.value, "skill": name}))
        elif low is high:
            described.append(_level_words(low, name))
        else:
            described.append((N_(" between %(level)s and %(level_high)s on %(skill)s"),
                              {"level": low.value, "level_high": high.value, "skill": name}))
            if by_check[d]:
                described.append((N_(" (counting what the placement check suggests)"), {}))
    parts = [_subject(len(profiles), by_check=all_by_check)]
    for index, part in enumerate(described):
        if index:  # "A and B", or "A, B, and C"
            last = index == len(described) - 1
            parts.append((N_(" and") if len(described) == 2 else (N_(", and") if last else N_(",")), {}))
        parts.append(part)
    if len(skill_ids) > 1:
        # With several skills, the weakest one is where the lesson time goes.
        parts.append((N_(". Focus on %(skill)s"), {"skill": focus}))
    # A level only the placement check suggests is confirmed by a short practice (what the student's plan offers).
    parts.append((N_(": a short practice confirms it.") if focus_placed else NEXT_MOVE[lowest_overall], {}))
    return tuple(parts)


def _mixed_reason(profiles: Sequence[tuple[int, ...]], skill_ids: Sequence[str], names: Mapping[str, str]) -> Parts:
    levels = LEVELS
    # Describe the spread on the first chosen skill; the teacher chose it first, so it is the one that matters.
    counts: dict[Level, int] = {}
    for profile in profiles:
        counts[levels[profile[0]]] = counts.get(levels[profile[0]], 0) + 1
    spread: list[tuple[str, dict[str, object]]] = []
    for level in (level for level in reversed(levels) if level in counts):
        if spread:
            spread.append((N_(", "), {}))
        spread.append((N_("%(number)s %(level)s"), {"number": counts[level], "level": level.value}))
    name = names.get(skill_ids[0], skill_ids[0])
    if len(counts) == 1:
        return ((N_("Everyone here is at the same level on %(skill)s ("), {"skill": name}), *spread,
                (N_("), because the class is; give each member a role so everyone contributes."), {}))
    return ((N_("A mix of levels on %(skill)s ("), {"skill": name}), *spread,
            (N_("): everyone brings something. Give each member a role and ask them to explain their thinking to "
                "each other."), {}))
