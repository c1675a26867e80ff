"""Where the package finds its templates, static files and example configuration."""

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def _top_level(folder: str) -> Path:
    # These folders live at the repository top level (DESIGN.md §2). A wheel carries a copy inside the package
    # (setup.py copies it at build time), so an installed Pathways never reads a source tree; an editable
    # install has no copy and reads the repository's folder.
    packaged = PACKAGE_DIR / folder
    return packaged if packaged.is_dir() else PACKAGE_DIR.parent / folder


TEMPLATES_DIR = _top_level("templates")
STATIC_DIR = PACKAGE_DIR / "static"
#: The example configuration (config/), for `pathways example`.
CONFIG_EXAMPLES_DIR = _top_level("config")
