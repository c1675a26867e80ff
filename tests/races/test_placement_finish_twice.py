"""A student clicks "Finish now" on the placement check twice (or in two tabs) at once.

Both clicks read the check as not finished; the second waited for the first's lock and placed the student again:
a second baseline, stamped later, so answers given between the two no longer counted against the check. The
later click now finds the check finished under the lock and leaves the first placement as it is.
"""
from __future__ import annotations

from datetime import timedelta

from lti_tool.extensions import db
from lti_tool.models.base import utcnow
from lti_tool.services import diagnostic
from tests.races.support import at_once, demo_course, meet_after_first_call
from tests.support import right_answer


def test_finish_now_clicked_twice_at_once_places_the_student_once(sandbox, tool, monkeypatch):
    course_id, _, student, _ = demo_course(sandbox, tool)
    app = tool.app
    with app.app_context():
        for _ in range(2):
            question = diagnostic.current_question(course_id, student, now=utcnow())
            db.session.commit()
            diagnostic.answer_question(course_id, student, question.item.id, right_answer(question.item),
                                       not_sure=False, now=utcnow())
        assert diagnostic._run(course_id, student).finished_at is None
        db.session.remove()
    placements: list[object] = []
    original = diagnostic._baseline

    def baseline(*args, **kwargs):
        placements.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(diagnostic, "_baseline", baseline)
    meet_after_first_call(monkeypatch, diagnostic, "_run")  # both clicks read the check as open
    first = utcnow()

    errors = at_once(app, [lambda: diagnostic.finish_early(course_id, student, now=first),
                           lambda: diagnostic.finish_early(course_id, student, now=first + timedelta(seconds=5))])

    assert not errors, [repr(e)[:200] for e in errors]
    assert len(placements) == 1
    with app.app_context():
        run = diagnostic._run(course_id, student)
        assert run.finished_at is not None and run.baseline is not None
        db.session.remove()
