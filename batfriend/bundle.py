"""Build the Elastic Beanstalk source bundle: ``python -m batfriend.bundle``.

It holds exactly ``bundle_files()``, sorted and dated 1980-01-01, so the same
sources always give the same bytes. Run it from a clone: it reads the files
beside ``app.py``, not an installed copy.
"""

import argparse
import os
import sys
import zipfile
from pathlib import Path

from batfriend import __version__

ROOT = Path(__file__).resolve().parent.parent
TOP_LEVEL_FILES = (
    "requirements.txt",
    "app.py",
    "basic_config.py",
    "uwsgi.ini",
    "Procfile",
    "cron.yaml",
    "newrelic.ini",
)
PACKAGE = "batfriend"
PACKAGE_SUFFIXES = (".py", ".lua")
EB_EXTENSIONS = ".ebextensions"
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def bundle_name(version: str = __version__) -> str:
    """Return the bundle's file name for ``version``."""
    return f"batfriend-{version}.zip"


def bundle_files(root: Path = ROOT) -> list[str]:
    """Return the bundle's entries: paths relative to ``root``, sorted, with ``/`` separators."""
    missing = [name for name in (*TOP_LEVEL_FILES, EB_EXTENSIONS) if not (root / name).exists()]
    if missing:
        raise FileNotFoundError(
            f"{root} has no {missing[0]}: run python -m batfriend.bundle from a clone of batfriend"
        )
    files = list(TOP_LEVEL_FILES)
    for directory, suffixes in ((PACKAGE, PACKAGE_SUFFIXES), (EB_EXTENSIONS, None)):
        for path in (root / directory).rglob("*"):
            relative = path.relative_to(root)
            if "__pycache__" in relative.parts or not path.is_file():
                continue
            if suffixes is None or path.suffix in suffixes:
                files.append(relative.as_posix())
    return sorted(files)


def build(dist: Path, root: Path = ROOT) -> Path:
    """Write the bundle into ``dist`` and return its path."""
    dist.mkdir(parents=True, exist_ok=True)
    target = dist / bundle_name()
    partial = target.with_suffix(".zip.partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for name in bundle_files(root):
            entry = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            bundle.writestr(entry, (root / name).read_bytes())
    os.replace(partial, target)
    return target


def main(argv: list[str] | None = None) -> None:
    """Build the bundle and print its path."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", default=str(ROOT / "dist"), help="output directory")
    args = parser.parse_args(argv)
    try:
        print(build(Path(args.dist)))
    except FileNotFoundError as error:
        sys.exit(str(error))


if __name__ == "__main__":
    main()
