"""Each gunicorn worker of `pathways serve` takes the loaded app out of the garbage collector's full scans (issue 14).

A full collection of a worker walked every object of the app (about 80 ms CPU, inside whichever request set it
off); the packaged settings' post_worker_init hook freezes what is alive once the app has loaded. Checked in a
child process: a frozen test runner would keep every fixture's objects for the rest of the run.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import textwrap

WORKER = textwrap.dedent("""
    import gc
    import weakref

    from lti_tool.serve import PathwaysServer

    server = PathwaysServer({})  # the settings `pathways serve` runs with
    app = server.load()  # what each worker loads before gunicorn calls post_worker_init

    class Node:
        pass

    cycle = Node()
    cycle.itself = cycle  # garbage of loading, which only a collection frees
    dead = weakref.ref(cycle)
    del cycle
    tracked_before = len(gc.get_objects())
    assert any(o is app for o in gc.get_objects())

    server.cfg.post_worker_init(None)  # gunicorn passes the worker; the hook does not need it

    later = Node()  # an object the collector tracks (a dict of strings it would not)
    print("app frozen:", not any(o is app for o in gc.get_objects()))
    print("garbage freed first:", dead() is None)
    print("later objects collected as before:", any(o is later for o in gc.get_objects()))
    print("frozen:", gc.get_freeze_count(), "tracked before:", tracked_before, "after:", len(gc.get_objects()))
""")


def test_the_packaged_gunicorn_settings_freeze_the_loaded_app_in_each_worker(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATHWAYS_")}
    env |= {"PATHWAYS_SECRET_KEY": secrets.token_urlsafe(48), "PATHWAYS_INSTANCE_PATH": str(tmp_path),
            "PATHWAYS_DATABASE_URL": f"sqlite:///{tmp_path}/pathways.sqlite"}
    result = subprocess.run([sys.executable, "-c", WORKER], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    said = dict(line.split(": ", 1) for line in result.stdout.splitlines())
    assert said["app frozen"] == "True", result.stdout
    assert said["garbage freed first"] == "True", result.stdout
    assert said["later objects collected as before"] == "True", result.stdout
    counts = said["frozen"].split()
    frozen, before, after = int(counts[0]), int(counts[3]), int(counts[5])
    # Nearly everything the loaded app holds is out of the full scans (the rest: what the print lines made).
    assert frozen > 0.9 * before and after < 0.01 * before, result.stdout
