"""Build hook: ship the top-level templates/ and config/ folders inside the installed package as
lti_tool/templates and lti_tool/config.

The repository keeps them at the top level (DESIGN.md §2); an installed package must never read the source
tree, so a wheel (and every non-editable install) carries its own copy: the templates to render pages, the
example configuration for `pathways example` (the env file, systemd units and Procfile the docs start from).
Editable installs read the folders in place (lti_tool/paths.py looks for the packaged copy first).
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class BuildWithTemplates(build_py):
    def run(self) -> None:
        if not getattr(self, "editable_mode", False):
            # `pip wheel .` in a clone reuses build/: a template or migration removed since the last build would
            # otherwise ship again (a removed migration can leave `pathways db upgrade` with two heads).
            shutil.rmtree(Path(self.build_lib) / "lti_tool", ignore_errors=True)
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for folder in COPIED:
            source, target = ROOT / folder, Path(self.build_lib) / "lti_tool" / folder
            for path in _files(source):
                self.mkpath(str((target / path.relative_to(source)).parent))
                self.copy_file(str(path), str(target / path.relative_to(source)), preserve_mode=False)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = super().get_outputs(include_bytecode)
        if getattr(self, "editable_mode", False):
            return outputs
        return outputs + [str(Path(self.build_lib) / "lti_tool" / folder / p.relative_to(ROOT / folder))
                          for folder in COPIED for p in _files(ROOT / folder)]


COPIED = ("templates", "config")


def _files(source: Path) -> list[Path]:
    return sorted(p for p in source.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


setup(cmdclass={"build_py": BuildWithTemplates})
