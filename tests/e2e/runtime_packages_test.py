#!/usr/bin/env python3
"""The container's runtime package list must cover what the binaries link.

    runtime_packages_test.py [--packages deploy/runtime-packages.txt] BINARY...

For every shared library that `ldd BINARY` resolves, `dpkg -S` names the
Debian package that ships it; that package must be listed in the runtime
package list (deploy/runtime-packages.txt), which the Dockerfile's runtime
stage installs. Also checks that the Dockerfile installs from that file, that
no library is missing ("not found"), and that every listed package is known to
apt (when apt's lists are present). Runs in the ctest suite and in the image's
build stage (on each architecture). Exit 0 ok, 1 failure, 77 skipped.
With --root DIR, ldd, dpkg and apt-cache run chrooted in DIR and the binaries
are paths inside it (scripts/arm64_proof.sh checks its arm64 rootfs so).
Standard library only.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PREFIX = []  # ["chroot", DIR] with --root


def run(cmd):
    return subprocess.run(PREFIX + cmd, capture_output=True, text=True)


def realpath(path):
    if not PREFIX:
        return os.path.realpath(path)
    return run(["readlink", "-f", path]).stdout.strip() or path


def read_list(path):
    with open(path, encoding="utf-8") as f:
        return [l.split("#", 1)[0].strip() for l in f if l.split("#", 1)[0].strip()]


def linked_libraries(binary):
    r = run(["ldd", binary])
    if r.returncode != 0:
        raise RuntimeError(f"ldd {binary}: {r.stderr.strip()}")
    out = r.stdout
    libs, missing = [], []
    for line in out.splitlines():
        line = line.strip()
        if "not found" in line:
            missing.append(line.split()[0])
            continue
        m = re.match(r"(\S+) => (/\S+)", line)
        if m:
            libs.append(m.group(2))
        elif line.startswith("/"):  # the dynamic loader itself
            libs.append(line.split()[0])
    return libs, missing


def owning_package(path):
    """dpkg -S on the path as given, its real path, and the /usr-merged twin."""
    candidates = [path, realpath(path)]
    for p in list(candidates):
        if p.startswith("/usr/"):
            candidates.append(p[4:])
        else:
            candidates.append("/usr" + p)
    for c in candidates:
        r = run(["dpkg", "-S", c])
        if r.returncode == 0:
            # "libc6:amd64: /lib/x86_64-linux-gnu/libc.so.6" (diversions have 2 lines)
            for line in r.stdout.splitlines():
                if not line.startswith("diversion"):
                    return line.split(":", 1)[0].split(",")[0].strip()
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--packages", default=os.path.join(ROOT, "deploy", "runtime-packages.txt"))
    ap.add_argument("--dockerfile", default=os.path.join(ROOT, "Dockerfile"))
    ap.add_argument("--root", help="check inside this root file system (chroot)")
    ap.add_argument("binaries", nargs="+")
    args = ap.parse_args()
    if args.root:
        PREFIX[:] = ["chroot", args.root]
    for tool in ("ldd", "dpkg"):
        if shutil.which(tool) is None:
            print(f"SKIP: {tool} not found (not a Debian system)")
            return 77
    listed = read_list(args.packages)
    failures = []
    if len(set(listed)) != len(listed):
        failures.append("duplicate entries in " + args.packages)
    if os.path.exists(args.dockerfile):
        with open(args.dockerfile, encoding="utf-8") as f:
            docker = f.read()
        if "deploy/runtime-packages.txt" not in docker:
            failures.append("the Dockerfile does not install deploy/runtime-packages.txt")

    needed = {}
    for binary in args.binaries:
        libs, missing = linked_libraries(binary)
        for m in missing:
            failures.append(f"{binary}: {m} not found")
        for lib in libs:
            pkg = owning_package(lib)
            if pkg is None:
                failures.append(f"{binary}: no Debian package ships {lib} (built locally?)")
                continue
            needed.setdefault(pkg, set()).add(os.path.basename(lib))
    for pkg, libs in sorted(needed.items()):
        ok = pkg in listed
        print(f"{'ok ' if ok else 'MISSING'} {pkg}: {', '.join(sorted(libs))}")
        if not ok:
            failures.append(f"{pkg} (ships {', '.join(sorted(libs))}) is not in {args.packages}")
    unused = [p for p in listed if p not in needed]
    if unused:
        print("listed but not linked by these binaries (another architecture's GEMM backend, "
              "or stale): " + ", ".join(unused))

    # Every listed name must exist for apt (where apt's lists are present).
    if (PREFIX or shutil.which("apt-cache")) and run(["apt-cache", "show", "libc6"]).returncode == 0:
        for p in listed:
            if run(["apt-cache", "show", p]).returncode != 0:
                failures.append(f"{p}: unknown to apt-cache")
    for f in failures:
        print("FAIL: " + f)
    print(f"{len(needed)} packages needed by {len(args.binaries)} binaries, "
          f"{len(listed)} listed: {'FAIL' if failures else 'OK'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
