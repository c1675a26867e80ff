"""Kept for existing setups: the production gunicorn settings now ship in the package.

Prefer `pathways serve`; plain gunicorn can use `gunicorn -c python:lti_tool.gunicorn_conf 'lti_tool:create_app()'`.
"""

from lti_tool.gunicorn_conf import *  # noqa: F403
