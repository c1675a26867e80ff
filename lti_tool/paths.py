"""Where the package finds files that live beside it rather than inside it."""

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
# Templates live at the repository top level (DESIGN.md §2); installs are editable or ship them alongside.
TEMPLATES_DIR = PACKAGE_DIR.parent / "templates"
STATIC_DIR = PACKAGE_DIR / "static"
