"""`pathways db upgrade` gives a new deployment its first signing key, so /lti/jwks is never empty."""

from __future__ import annotations

import threading

import requests
from click.testing import CliRunner
from flask.cli import ScriptInfo
from werkzeug.serving import make_server

from lti_tool import create_app
from lti_tool.cli import main


def test_db_upgrade_publishes_one_signing_key_at_once_and_a_second_upgrade_adds_none(tmp_path):
    app = create_app({"TESTING": True, "SECRET_KEY": "first-key-test-secret-first-key-test",
                      "INSTANCE_PATH": str(tmp_path)})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    jwks_url = f"http://127.0.0.1:{server.server_port}/lti/jwks"
    try:
        for _ in range(2):
            result = CliRunner().invoke(main, ["db", "upgrade"], obj=ScriptInfo(create_app=lambda: app))
            assert result.exit_code == 0, result.output
            keys = requests.get(jwks_url, timeout=10).json()["keys"]
            assert len(keys) == 1 and keys[0]["alg"] == "RS256" and "d" not in keys[0]
    finally:
        server.shutdown()
        server.server_close()
