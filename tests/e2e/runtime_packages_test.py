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


def candidates(path):
    """The path as given, its real path, and their /usr-merged twins."""
    paths = [path, realpath(path)]
    for p in list(paths):
        paths.append(p[4:] if p.startswith("/usr/") else "/usr" + p)
    return paths


def owning_packages(libs):
    """{lib: package or None}, from one dpkg -S over every candidate path
    (each dpkg call reads the whole database: seconds on a loaded box)."""
    paths = {lib: candidates(lib) for lib in libs}
    every = sorted({c for cs in paths.values() for c in cs})
    owner = {}
    # Exit status 1 only says some candidates are unowned; stdout has the rest:
    # "libc6:amd64: /lib/x86_64-linux-gnu/libc.so.6" (diversions add lines).
    for line in run(["dpkg", "-S"] + every).stdout.splitlines():
        if line.startswith("diversion") or ": " not in line:
            continue
        pkgs, _, path = line.partition(": ")
        owner.setdefault(path.strip(), pkgs.split(",")[0].split(":")[0].strip())
    return {lib: next((owner[c] for c in cs if c in owner), None) for lib, cs in paths.items()}


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
    linked = {}
    for binary in args.binaries:
        libs, missing = linked_libraries(binary)
        for m in missing:
            failures.append(f"{binary}: {m} not found")
        linked[binary] = libs
    owners = owning_packages(sorted({lib for libs in linked.values() for lib in libs}))
    for binary, libs in linked.items():
        for lib in libs:
            pkg = owners[lib]
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
    # One call for all (without a pkgcache.bin, as in Debian's container
    # images, each call rebuilds apt's cache: seconds under load). It skips
    # unknown names silently when others are found, so compare the names it
    # printed records for.
    if (PREFIX or shutil.which("apt-cache")) and run(["apt-cache", "show", "libc6"]).returncode == 0:
        shown = run(["apt-cache", "show"] + listed).stdout.splitlines()
        known = {l.split(":", 1)[1].strip() for l in shown if l.startswith("Package:")}
        for p in listed:
            if p not in known:
                failures.append(f"{p}: unknown to apt-cache")
    for f in failures:
        print("FAIL: " + f)
    print(f"{len(needed)} packages needed by {len(args.binaries)} binaries, "
          f"{len(listed)} listed: {'FAIL' if failures else 'OK'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
