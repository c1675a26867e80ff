"""A process's few-second copies (process_copy) stay bounded, and a full kind loses its oldest copy, not all of them."""

from __future__ import annotations

from flask import Flask

from lti_tool import process_copy


def test_a_full_kind_of_copy_lets_only_its_oldest_go():
    app = Flask(__name__)
    with app.app_context():
        for n in range(process_copy.MAX_COPIES):
            process_copy.hold("pathways.test_copies", f"key-{n}", n)
        process_copy.hold("pathways.test_copies", "one more", "new")  # past the bound

        assert len(app.extensions["pathways.test_copies"]) == process_copy.MAX_COPIES
        assert process_copy.held("pathways.test_copies", "key-0", 60) is None  # the oldest went
        # The others stay: a full map emptied at once sent every request of every platform back to the shared cache.
        assert process_copy.held("pathways.test_copies", "key-1", 60) == 1
        assert process_copy.held("pathways.test_copies", f"key-{process_copy.MAX_COPIES - 1}", 60) == process_copy.MAX_COPIES - 1
        assert process_copy.held("pathways.test_copies", "one more", 60) == "new"

        process_copy.drop("pathways.test_copies")  # the value changed here: every copy of the kind goes
        assert process_copy.held("pathways.test_copies", "key-1", 60) is None
