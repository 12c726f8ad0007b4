#!/usr/bin/env python3
"""Which folder of Sources/ uses which: a folder depends on another when one of its files names
a type (struct, class, enum, protocol, actor, typealias) or top-level function declared there.
A folder is a target's top-level folder (Restore/, Targets/, World/…): its subfolders
(Targets/Local, Targets/Compose…) are parts of one room and may use each other.
Prints the edges, then every cycle (strongly connected group of folders), and exits 1 when there
is one. Usage: scripts/folder-graph.py [Sources/RecetteKit ...]"""
import os, re, sys

roots = sys.argv[1:] or ["Sources/RecetteKit", "Sources/RecetteWorld"]
declaration = re.compile(r"^(?:(?:public|package|internal|fileprivate|private|final|indirect|@\w+)\s+)*"
                         r"(?:struct|class|enum|protocol|actor|typealias|func)\s+([A-Za-z_][A-Za-z0-9_]*)", re.M)
comment = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)
string = re.compile(r'"(?:\\.|[^"\\\n])*"')

files = {}
for root in roots:
    for directory, _, names in os.walk(root):
        for name in names:
            if name.endswith(".swift"):
                path = os.path.join(directory, name)
                parts = os.path.relpath(directory, root).split(os.sep)
                folder = os.path.basename(root) + ("/" + parts[0] if parts[0] != "." else "")
                text = string.sub('""', comment.sub("", open(path, encoding="utf-8").read()))
                files[path] = (folder, text)

declared = {}
for path, (folder, text) in files.items():
    for match in declaration.finditer(text):
        # Only top-level declarations (the pattern is anchored at a line's first column):
        # members are reached through their type, which is counted.
        declared.setdefault(match.group(1), set()).add(folder)

edges = {}
identifier = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]*\b")
for path, (folder, text) in files.items():
    for word in set(identifier.findall(text)):
        for other in declared.get(word, ()):
            if other != folder:
                edges.setdefault(folder, set()).add(other)

folders = sorted({f for f, _ in files.values()})
for folder in folders:
    print(f"{folder} -> {', '.join(sorted(edges.get(folder, ()))) or '(nothing)'}")

# Tarjan's strongly connected components.
index, low, stack, on_stack, groups, counter = {}, {}, [], set(), [], [0]
def visit(v):
    index[v] = low[v] = counter[0]; counter[0] += 1
    stack.append(v); on_stack.add(v)
    for w in edges.get(v, ()):
        if w not in index:
            visit(w); low[v] = min(low[v], low[w])
        elif w in on_stack:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        group = []
        while True:
            w = stack.pop(); on_stack.discard(w); group.append(w)
            if w == v: break
        if len(group) > 1: groups.append(sorted(group))
sys.setrecursionlimit(10000)
for folder in folders:
    if folder not in index: visit(folder)

if groups:
    for group in groups:
        print("cycle: " + " <-> ".join(group))
        for a in group:
            for b in group:
                if b in edges.get(a, ()):
                    users = sorted(p for p, (f, t) in files.items() if f == a and any(
                        re.search(rf"\b{re.escape(n)}\b", t) for n, fs in declared.items() if b in fs))
                    print(f"  {a} -> {b}: {', '.join(os.path.basename(u) for u in users)}")
    sys.exit(1)
print("no cycle")
