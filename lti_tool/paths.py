"""Where the package finds its templates and static files."""

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
# Templates live at the repository top level (DESIGN.md §2). A wheel carries a copy inside the package
# (setup.py copies it at build time), so an installed Pathways never reads a source tree; an editable
# install has no copy and reads the repository's folder.
_PACKAGED_TEMPLATES = PACKAGE_DIR / "templates"
TEMPLATES_DIR = _PACKAGED_TEMPLATES if _PACKAGED_TEMPLATES.is_dir() else PACKAGE_DIR.parent / "templates"
STATIC_DIR = PACKAGE_DIR / "static"
# The example configuration (config/ at the top level): copied into a wheel the same way, for `pathways example`.
_PACKAGED_CONFIG = PACKAGE_DIR / "config"
CONFIG_EXAMPLES_DIR = _PACKAGED_CONFIG if _PACKAGED_CONFIG.is_dir() else PACKAGE_DIR.parent / "config"
