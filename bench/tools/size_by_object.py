#!/usr/bin/env python3
"""Bytes of ufrpc by object file, from a GNU ld link map (-Wl,-Map,FILE).

Counts the input sections the link kept (.text*, .rodata*, .data*, .bss*) after
--gc-sections, so an object's figure is what it adds to the executable. Needs a
link without LTO (LTO merges every object into one). bench/README.md ("Binary
size") gives the commands and the figures.

usage: size_by_object.py MAP [--layers] [--top N]
"""
import collections
import re
import sys

SECTION = re.compile(r"\.(text|rodata|data|bss)\b")


def kept_sections(path):
    """Yields (section, size, object) for each kept input section of the map."""
    pending = None
    started = False
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("Linker script and memory map"):
                started = True
                continue
            if not started:
                continue
            m = re.match(r"^ (\.[\w.$-]+)\s*$", line)  # a long name, numbers on the next line
            if m:
                pending = m.group(1)
                continue
            m = re.match(r"^ (\.[\w.$-]+)?\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S+)$", line)
            sec = None
            if m:
                sec = m.group(1) or pending
            pending = None
            if sec and SECTION.match(sec) and int(m.group(3), 16):
                yield sec, int(m.group(3), 16), m.group(4)


LIB_DIRS = {"ufrpc_proto": "proto", "ufrpc_net": "net", "ufrpc_config": "config",
            "ufrpc_plugins": "client/plugins", "ufrpc_core": "client/core",
            "ufrpc_admin": "client/admin", "ufrpc_api": "client/lib", "ufrpc_cli": "client/cli",
            "ufrpc_llhttp": "third_party/llhttp"}


def name_of(obj):
    """proto/ws.c for libufrpc_proto.a(ws.c.o), client/cli/main.c for the executable's
    own, libmbedtls.a/ssl_tls.c.o for an object of another static library (a static
    build), the C runtime for the rest."""
    m = re.search(r"lib(ufrpc_\w+)\.a\((.+)\.o\)$", obj)
    if m:
        return LIB_DIRS.get(m.group(1), m.group(1)) + "/" + m.group(2)
    m = re.search(r"CMakeFiles/[\w-]+\.dir/(.+)\.o$", obj)
    if m:
        return m.group(1)
    if re.search(r"\.ltrans\d*\.ltrans\.o$", obj):
        return "(LTO: the objects built with -flto, merged)"
    m = re.search(r"(lib[\w+-]+\.a)\((.+)\)$", obj)
    if m and m.group(1) not in ("libc_nonshared.a",):
        return m.group(1) + "/" + m.group(2)
    return "(C runtime startup, libc_nonshared)"


def main():
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    top = int(args[args.index("--top") + 1]) if "--top" in args else 0
    per = collections.Counter()
    for _, size, obj in kept_sections(args[0]):
        per[name_of(obj)] += size
    total = sum(per.values())
    if "--layers" in args:
        layers = collections.Counter()
        for name, size in per.items():
            layers[name.rsplit("/", 1)[0] + "/" if "/" in name else name] += size
        for name, size in layers.most_common():
            print(f"{size:8d}  {name}")
    else:
        for name, size in per.most_common(top or None):
            print(f"{size:8d}  {name}")
    print(f"{total:8d}  total")


if __name__ == "__main__":
    main()
