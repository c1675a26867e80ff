"""A page finds its catalogue once per language, not once per word (web/i18n.py page_catalogue).

The check that the kept catalogue is still the page's language reads the locale Flask-Babel keeps in `g`
(`g._flask_babel.babel_locale`, not public). A Flask-Babel that keeps it elsewhere leaves pages right but slower:
the catalogue found again for each of a page's fifty-odd words. This test fails on such a Flask-Babel.
"""

from __future__ import annotations

from flask_babel import force_locale, get_locale

from lti_tool.web.i18n import _page_words


def test_the_page_catalogue_is_found_once_per_request_and_language(tool):
    with tool.app.test_request_context("/"):
        first = _page_words()
        assert first[1] == get_locale()
        assert _page_words() is first  # kept, not found again
        with force_locale("es"):
            spanish = _page_words()
            assert spanish is not first and str(spanish[1]) == "es"  # the switched language's own
            assert _page_words() is spanish
        back = _page_words()
        assert back[2] is first[2] and _page_words() is back
