#!/usr/bin/python3
"""Runs every ```python block of a guide, in order, in one namespace.

Usage: guide-snippets.py GUIDE.md SOCK_A SOCK_B

The blocks see SOCK_A and SOCK_B (two tincans' control sockets, whose nodes
can reach each other) and can import examples/static-mesh's modules; the
Python classes come from IPOP_PYTHON_PROTO or build/python.  Prints
"snippet N ok (line L)" per block; the first block that raises ends the run
with its traceback and exit status 1.  Run by test/e2e/controllers.sh.
"""
import os
import re
import sys
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "examples", "static-mesh"))


def blocks(text):
    """(line, code) of each fenced block tagged python."""
    out = []
    for m in re.finditer(r"^```python\n(.*?)^```$", text, re.M | re.S):
        out.append((text.count("\n", 0, m.start()) + 1, m.group(1)))
    return out


def main():
    guide, sock_a, sock_b = sys.argv[1:4]
    with open(guide) as f:
        found = blocks(f.read())
    if not found:
        print("no python blocks in %s" % guide)
        return 1
    env = {"__name__": "guide", "SOCK_A": sock_a, "SOCK_B": sock_b}
    for n, (line, code) in enumerate(found, 1):
        try:
            exec(compile(code, "%s:%d" % (guide, line), "exec"), env)
        except Exception:
            traceback.print_exc()
            print("snippet %d (line %d) failed" % (n, line))
            return 1
        print("snippet %d ok (line %d)" % (n, line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
