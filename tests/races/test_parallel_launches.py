"""A class opens Pathways at the same moment: parallel first launches into a new course all land on a page."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.support import SandboxActions

PARALLEL = 8


def _new_course_with_people(tool, context_id: str, people: list[tuple[str, str]]) -> None:
    platform = tool.platform
    platform.add_course(context_id, "Period 3 Algebra", "ALG3")
    for sub, role in people:
        platform.add_user(sub, roles=[role], name=f"Person {sub}", context_id=context_id)
    # A link copied from another course: its placement parameter is new to this course.
    platform.add_resource_link("copied-link", "Algebra pathway", context_id=context_id,
                               custom={"pathways_placement": "copied-placement-1"})


def _launch_all_at_once(sandbox: SandboxActions, context_id: str, subs: list[str]) -> list[requests.Response]:
    """Log everyone in first, then post all the id_tokens to the tool at the same instant."""
    pending = [sandbox.begin(sub, http=requests.Session(), context_id=context_id, resource_link_id="copied-link")
               for sub in subs]
    barrier = threading.Barrier(len(pending))

    def post(launch):
        barrier.wait()
        return launch.post()

    with ThreadPoolExecutor(len(pending)) as pool:
        return list(pool.map(post, pending))


def test_a_whole_class_launching_a_new_course_at_once_all_get_their_page(make_tool):
    tool = make_tool(DEFAULT_COURSE_PACK="demo")
    sandbox = SandboxActions(tool)
    people = [("t-1", "Instructor"), ("t-2", "Instructor"), ("s-1", "Learner"), ("s-2", "Learner")]
    _new_course_with_people(tool, "alg-3", people)
    # Everyone twice (a double click, a second tab): people and enrolments race as well as the course.
    subs = [sub for sub, _ in people] * (PARALLEL // len(people))

    pages = _launch_all_at_once(sandbox, "alg-3", subs)

    assert [page.status_code for page in pages] == [200] * PARALLEL, [p.text[:300] for p in pages if p.status_code != 200]
    assert all("Period 3 Algebra" in page.text for page in pages)
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import Course, CourseContent, Enrollment, Person, Placement

        (course,) = db.session.scalars(db.select(Course).where(Course.context_id == "alg-3")).all()
        assert db.session.scalar(db.select(db.func.count()).select_from(Person).where(
            Person.sub.in_([sub for sub, _ in people]))) == len(people)
        enrolments = db.session.scalars(db.select(Enrollment).where(Enrollment.course_id == course.id)).all()
        assert sorted(e.person.sub for e in enrolments) == sorted(sub for sub, _ in people)
        (placement,) = db.session.scalars(db.select(Placement).where(Placement.course_id == course.id)).all()
        assert placement.resource_id == "copied-placement-1"
        assert placement.resource_link_id == "copied-link"
        assert db.session.get(CourseContent, course.id) is not None
        assert course.roster_sync_due_at is not None


def test_new_courses_a_class_opens_at_once_try_the_default_packs_question_templates_once(make_tool, monkeypatch):
    # Trying a few hundred variants of every question template of the demo pack takes about half a second of CPU.
    # Every launch that found the new course without content tried them all again, each in its thread: the launch
    # holding SQLite's write lock waited for its turn at the interpreter behind them, and the last ones in line
    # waited out the 10 s busy timeout (a 503) on a loaded machine. They are tried once per process now.
    from lti_tool.services import content

    tried: list[bool] = []
    load_pack = content.load_pack

    def counting(data, **options):
        tried.append(options.get("sample_templates", True))
        return load_pack(data, **options)

    monkeypatch.setattr(content, "load_pack", counting)
    tool = make_tool(DEFAULT_COURSE_PACK="demo")
    sandbox = SandboxActions(tool)
    people = [("t-1", "Instructor"), ("s-1", "Learner"), ("s-2", "Learner"), ("s-3", "Learner")]
    for context_id in ("alg-3", "alg-4"):
        _new_course_with_people(tool, context_id, people)
        pages = _launch_all_at_once(sandbox, context_id, [sub for sub, _ in people] * 2)
        assert [page.status_code for page in pages] == [200] * 8

    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import CourseContent

        assert db.session.scalar(db.select(db.func.count()).select_from(CourseContent)) == 2
    assert tried.count(True) <= 1  # before: at least once per course, and up to once per launch
