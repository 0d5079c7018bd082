"""Builds the attnserve-client wheel with the build's generated stubs inside.

    python3 clients/python/build_wheel.py --stubs BUILD/clients/python/gen \
        --version 0.1.0 --out BUILD/clients/python/dist

Stages clients/python in a scratch directory, copies the stubs into
attnserve_client/_bundled_stubs and writes attnserve_client/_version.py, then
runs pip's wheel builder offline with Debian's setuptools (no network, no
build isolation). Run by the CMake target attnserve_python_wheel.
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
STAMP = "ATTNSERVE_STUBS_OK"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stubs", required=True, help="generated stub directory")
    parser.add_argument("--version", required=True, help="the CMake project version")
    parser.add_argument("--out", required=True, help="directory for the .whl")
    args = parser.parse_args()
    if not os.path.isfile(os.path.join(args.stubs, STAMP)):
        print(f"build_wheel: {args.stubs} holds no generated stubs ({STAMP} missing)",
              file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="attnserve_wheel_") as stage:
        for name in ("pyproject.toml", "README.md"):
            shutil.copy(os.path.join(HERE, name), stage)
        package = os.path.join(stage, "attnserve_client")
        shutil.copytree(os.path.join(HERE, "attnserve_client"), package,
                        ignore=shutil.ignore_patterns("__pycache__", "_bundled_stubs"))
        shutil.copytree(args.stubs, os.path.join(package, "_bundled_stubs"),
                        ignore=shutil.ignore_patterns("__pycache__"))
        with open(os.path.join(package, "_version.py"), "w", encoding="utf-8") as f:
            f.write(f'"""Written by build_wheel.py from the CMake project version."""\n'
                    f'__version__ = "{args.version}"\n')
        os.makedirs(args.out, exist_ok=True)
        for old in glob.glob(os.path.join(args.out, "attnserve_client-*.whl")):
            os.remove(old)
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-index",
                   "--no-build-isolation", "--quiet", "--wheel-dir", args.out, stage]
        result = subprocess.run(command, check=False)
        if result.returncode != 0:
            print(f"build_wheel: {' '.join(command)} exited {result.returncode}",
                  file=sys.stderr)
            return 1
    wheels = glob.glob(os.path.join(args.out, f"attnserve_client-{args.version}-*.whl"))
    if len(wheels) != 1:
        print(f"build_wheel: expected one wheel for {args.version} in {args.out}, found {wheels}",
              file=sys.stderr)
        return 1
    print(wheels[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
