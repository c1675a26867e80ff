"""Operations: a Prometheus scraper reads launches, refusals, grade posts, roster syncs and the outbox."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families

from lti_tool import metrics
from lti_tool.sandbox.platform import DEMO_STUDENTS
from tests.jobs.gradebook import FAST_RETRIES, open_gradebook
from tests.support import SandboxActions

ROOT = Path(__file__).resolve().parents[2]


def scrape(tool, token: str | None = None) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """GET /metrics like Prometheus does and return {(sample name, labels): value}."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = requests.get(tool.url("/metrics"), headers=headers, timeout=30)
    assert response.status_code == 200, response.text[:300]
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    return parse(response.text)


def parse(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_are_not_served_unless_the_operator_turns_them_on(tool):
    response = requests.get(tool.url("/metrics"), timeout=30)

    assert response.status_code == 404


def test_a_scraper_without_the_configured_bearer_token_is_turned_away(make_tool):
    tool = make_tool(METRICS_ENABLED=True, METRICS_TOKEN="s3cret-scrape-token")

    anonymous = requests.get(tool.url("/metrics"), timeout=30)
    wrong = requests.get(tool.url("/metrics"), headers={"Authorization": "Bearer guess"}, timeout=30)
    basic = requests.get(tool.url("/metrics"), headers={"Authorization": "Basic s3cret-scrape-token"}, timeout=30)

    for response in (anonymous, wrong, basic):
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert "pathways_" not in response.text
    samples = scrape(tool, token="s3cret-scrape-token")
    assert ("pathways_launches_total", (("outcome", "accepted"),)) in samples


def test_launches_are_counted_by_outcome_and_refusals_by_a_fixed_reason_never_by_what_was_sent(make_tool):
    tool = make_tool(METRICS_ENABLED=True)
    before = scrape(tool)

    metrics.record_launch("accepted")
    metrics.record_launch("accepted")
    metrics.record_launch("refused", "The launch has expired. Start again from your course.")
    metrics.record_launch("refused", "This launch has already been used. Start again from your course.")
    metrics.record_launch("refused", "bad_signature")
    metrics.record_launch("refused", "The launch could not be accepted: <script>alert('student-1')</script>")
    metrics.record_launch("refused", "Something nobody has written yet about student-1")
    after = requests.get(tool.url("/metrics"), timeout=30).text
    samples = parse(after)

    def delta(name: str, **labels: str) -> float:
        return value(samples, name, **labels) - value(before, name, **labels)

    assert delta("pathways_launches_total", outcome="accepted") == 2
    assert delta("pathways_launches_total", outcome="refused") == 5
    assert delta("pathways_launch_failures_total", reason="expired") == 1
    assert delta("pathways_launch_failures_total", reason="replayed") == 1
    assert delta("pathways_launch_failures_total", reason="bad_signature") == 1
    assert delta("pathways_launch_failures_total", reason="malformed") == 1
    assert delta("pathways_launch_failures_total", reason="other") == 1
    reasons = {dict(labels).get("reason") for name, labels in samples if name == "pathways_launch_failures_total"}
    assert reasons == set(metrics.REASONS)
    for sent in ("student-1", "<script", "alert(", "nobody"):
        assert sent not in after


def _unmark(node):
    """Look inside N_("…"), the translation marker, to the message itself."""
    if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "N_" and node.args:
        return node.args[0]
    return node


def test_every_refusal_message_the_tool_can_give_has_a_reason_of_its_own():
    """Each LaunchError text in lti/launch.py maps to a specific reason, so dashboards see no 'other'."""
    source = (ROOT / "lti_tool" / "lti" / "launch.py").read_text()
    messages = []
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "LaunchError" and node.args:
            first = _unmark(node.args[0])
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                messages.append(first.value)
            elif isinstance(first, ast.JoinedStr):
                messages.append("".join(v.value for v in first.values if isinstance(v, ast.Constant)))
    for function in ast.walk(tree):
        if not (isinstance(function, ast.FunctionDef) and function.name.startswith("_plain_")):
            continue
        # The plain-words versions of pylti1p3's errors: every string they return, whole or as a prefix.
        for node in ast.walk(function):
            if isinstance(node, ast.Return) and node.value is not None:
                part = _unmark(node.value.left if isinstance(node.value, ast.BinOp) else node.value)
                if isinstance(part, ast.Constant) and isinstance(part.value, str):
                    messages.append(part.value)

    assert len(messages) > 25
    unmapped = [m for m in messages if metrics.launch_failure_reason(m) == "other"]
    assert unmapped == []


def test_grade_post_latency_and_roster_syncs_reach_the_scrape(make_tool):
    tool = make_tool(METRICS_ENABLED=True)
    before = scrape(tool)

    metrics.observe_grade_post(0.03)
    assert metrics.timed_grade_post(lambda a, b: a + b, 2, b=3) == 5
    metrics.record_roster_sync()
    metrics.record_roster_sync(ok=False)
    samples = scrape(tool)

    def delta(name: str, **labels: str) -> float:
        return value(samples, name, **labels) - value(before, name, **labels)

    assert delta("pathways_grade_post_seconds_count") == 2
    assert delta("pathways_grade_post_seconds_bucket", le="0.05") == 2
    assert 0.03 <= delta("pathways_grade_post_seconds_sum") < 0.05
    assert delta("pathways_roster_syncs_total", outcome="ok") == 1
    assert delta("pathways_roster_syncs_total", outcome="failed") == 1


def test_outbox_depth_is_read_from_the_database_at_each_scrape_so_every_process_agrees(make_tool):
    tool = make_tool(METRICS_ENABLED=True, **FAST_RETRIES)
    gradebook = open_gradebook(tool, SandboxActions(tool))
    empty = scrape(tool)
    assert value(empty, "pathways_outbox_rows", status="pending") == 0
    assert value(empty, "pathways_outbox_oldest_pending_seconds") == 0

    for sub in DEMO_STUDENTS[:3]:
        gradebook.queue(sub, 50.0)
    waiting = scrape(tool)
    gradebook.drain()
    settled = scrape(tool)

    assert value(waiting, "pathways_outbox_rows", status="pending") == 3
    assert value(waiting, "pathways_outbox_oldest_pending_seconds") >= 0
    assert value(settled, "pathways_outbox_rows", status="pending") == 0
    assert value(settled, "pathways_outbox_rows", status="synced") == 3
    assert value(settled, "pathways_outbox_rows", status="failed") == 0


def test_counts_from_several_processes_add_up_when_multiprocess_mode_is_on(tmp_path):
    """Gunicorn workers and `pathways worker` each count; one scrape must show the sum."""
    folder = tmp_path / "prometheus"
    folder.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}

    def run(code: str) -> str:
        done = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    run("from lti_tool import metrics; metrics.record_launch('accepted'); metrics.record_launch('refused', 'x')")
    run("from lti_tool import metrics; metrics.record_launch('accepted'); metrics.observe_grade_post(0.2)")
    text = run("import sys; from lti_tool import metrics; sys.stdout.write(metrics.render()[0].decode())")
    samples = parse(text)

    assert value(samples, "pathways_launches_total", outcome="accepted") == 2
    assert value(samples, "pathways_launch_failures_total", reason="other") == 1
    assert value(samples, "pathways_grade_post_seconds_count") == 1
