#!/usr/bin/env python3
"""Retired guest instructions from a qemu-user log of `-d in_asm,exec,nochain`.

in_asm prints each translated block (TB) once, with its instructions; exec
(with nochain, so that chained TBs are not skipped) prints one line per TB
run, naming its guest PC. Each run retires the TB's instructions, so the
count per mnemonic is the sum over runs. A PC translated again (after code
was invalidated) takes its newest translation from then on.

With --between BEGIN END, only the TB runs after the one at symbol BEGIN and
before the one at symbol END count (tools/layer_calls marks its last call so).

  count_instructions.py [--between BEGIN END] LOG
      ->  JSON {"total": N, "mnemonics": {"sdot": N, ...}}
"""
import collections
import json
import re
import sys

INSN = re.compile(r"^0x([0-9a-f]+):\s+([0-9a-f]{8})\s+(\S+)")

# Encodings qemu 7.2's disassembler prints as ".byte" (mask, value, name):
# the ARMv8.2 dot products, by element and by vector (Arm ARM, C7.2).
UNNAMED = [
    (0xBFC0F400, 0x0F80E000, "sdot"),  # SDOT (by element)
    (0xBFC0F400, 0x2F80E000, "udot"),  # UDOT (by element)
    (0xBFE0FC00, 0x0E809400, "sdot"),  # SDOT (vector)
    (0xBFE0FC00, 0x2E809400, "udot"),  # UDOT (vector)
]


def mnemonic(word, name):
    if not name.startswith("."):
        return name
    w = int(word, 16)
    for mask, value, known in UNNAMED:
        if w & mask == value:
            return known
    return f"unnamed_{w >> 24:02x}"  # still counted, by its top byte
TRACE = re.compile(r"^Trace \d+: \S+ \[[0-9a-f]+/([0-9a-f]+)/[^\]]*\] ?(\S*)")


def count(lines, between=None):
    blocks = {}  # pc -> key of its newest translation
    runs = collections.Counter()  # (pc, id of translation) -> runs
    translations = {}
    current = None
    inside = between is None
    marks = 0
    for line in lines:
        if line.startswith("IN:"):
            current = []
            continue
        if current is not None:
            m = INSN.match(line)
            if m:
                current.append((int(m.group(1), 16), mnemonic(m.group(2), m.group(3))))
                continue
            if current:
                pc = current[0][0]
                key = (pc, len(translations))
                translations[key] = collections.Counter(name for _, name in current)
                blocks[pc] = key
            current = None
        m = TRACE.match(line)
        if m:
            if between is not None and m.group(2) in between:
                inside = m.group(2) == between[0]
                marks += 1
                continue
            if not inside:
                continue
            pc = int(m.group(1), 16)
            if pc not in blocks:
                raise SystemExit(f"count_instructions: TB at {pc:#x} ran before its in_asm")
            runs[blocks[pc]] += 1
    if between is not None and marks < 2:
        raise SystemExit(f"count_instructions: the log has {marks} of the markers {between}")
    mnemonics = collections.Counter()
    for key, n in runs.items():
        for name, k in translations[key].items():
            mnemonics[name] += n * k
    return {"total": sum(mnemonics.values()), "mnemonics": dict(mnemonics)}


def main():
    args = sys.argv[1:]
    between = None
    if args[:1] == ["--between"] and len(args) == 4:
        between, args = tuple(args[1:3]), args[3:]
    if len(args) != 1:
        raise SystemExit(__doc__)
    with open(args[0], errors="replace") as log:
        print(json.dumps(count(log, between)))


if __name__ == "__main__":
    main()
