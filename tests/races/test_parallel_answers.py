"""One student answers on two skills at once (two tabs): neither answer's mastery update is lost.

An answer locks only the learner-wide row ("*") and its own skill's row, so the two answers wait for each
other on "*" (both change it) and never on the rest of the learner's skills; whichever commits second must
build on the first's learner-wide state, not on what it read before the first committed.
"""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor

import requests

from lti_tool.learning.mastery import ALL_SKILLS, SkillState
from lti_tool.services.content import demo_pack_data
from tests.support import served_answer, submit_form

ROUNDS = 4


def _practice_skills(count: int) -> list[str]:
    """Return the first skills of the demo pack that have practice questions."""
    with_items = []
    for activity in demo_pack_data()["activities"]:
        for item in activity.get("items", []):
            for skill_id in item.get("skills", []):
                if skill_id not in with_items:
                    with_items.append(skill_id)
    return with_items[:count]


def test_two_tabs_answering_different_skills_at_once_lose_no_update(sandbox, tool):
    submit_form(sandbox.launch("teacher"), "/content/demo")
    home = sandbox.launch("student")
    base = re.search(r"/c/[^/?]+", home.url).group(0)
    skills = _practice_skills(2)
    tabs = []
    for _ in skills:
        tab = requests.Session()
        tab.cookies.update(home.http.cookies)  # the same browser: same session, same CSRF token
        tabs.append(tab)
    barrier = threading.Barrier(len(skills))

    def answer(tab: requests.Session, skill_id: str, question: requests.Response) -> requests.Response:
        fields = dict(re.findall(r'name="(csrf_token|served|hints)" value="([^"]*)"', question.text))
        fields["answer"] = served_answer(tool, question)
        barrier.wait()
        return tab.post(tool.url(f"{base}/practice/{skill_id}"), data=fields, timeout=30)

    for _ in range(ROUNDS):
        questions = [tab.get(tool.url(f"{base}/practice/{skill_id}"), timeout=30)
                     for tab, skill_id in zip(tabs, skills, strict=True)]
        assert all('name="served"' in q.text for q in questions), [q.status_code for q in questions]
        with ThreadPoolExecutor(len(skills)) as pool:
            pages = list(pool.map(answer, tabs, skills, questions))
        assert all(p.status_code == 200 and ("That&#39;s right!" in p.text or "That's right!" in p.text)
                   for p in pages), [(p.status_code, p.text[:300]) for p in pages]

    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import ItemResponse, SkillMastery

        answers = db.session.scalars(db.select(ItemResponse)).all()
        assert len(answers) == ROUNDS * len(skills)
        states = {row.skill_id: SkillState.from_dict(row.state) for row in db.session.scalars(db.select(SkillMastery))}
    credited = sum(1 for a in answers if a.credited)
    # Every credited answer reached the learner-wide state and its skill's: none overwrote the other's.
    assert states[ALL_SKILLS].attempts == credited
    for skill_id in skills:
        assert states[skill_id].attempts == sum(1 for a in answers if a.credited and skill_id in a.skill_ids)
