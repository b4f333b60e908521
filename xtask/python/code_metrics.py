"""Code-shape figures of the workspace for architecture reviews (issue 18's before/after):
the largest source files, the longest functions (brace-matched, tests included), how many
functions pass 100 lines, and `pub` item lines per crate.

    python3 xtask/python/code_metrics.py .
"""
import os, re, subprocess, sys
root = sys.argv[1]
crates = ["array-files-fs","npy-format","npy-append","npz-stream","filepack","varpack","xtask"]
files=[]
for c in crates:
    for dp,dn,fn in os.walk(os.path.join(root,c,"src")):
        for f in fn:
            if f.endswith(".rs"): files.append(os.path.join(dp,f))
sizes=sorted(((sum(1 for _ in open(f)),os.path.relpath(f,root)) for f in files), reverse=True)
print("largest files:"); [print(f"  {n:5d} {p}") for n,p in sizes[:8]]
fnre=re.compile(r'^(\s*)(pub(\([^)]*\))?\s+)?(const\s+)?(async\s+)?(unsafe\s+)?fn\s+(\w+)')
fns=[]
for f in files:
    lines=open(f).read().split("\n")
    in_test=False
    for i,l in enumerate(lines):
        m=fnre.match(l)
        if not m: continue
        ind=m.group(1)
        # find end: line == ind + '}'
        for j in range(i+1,len(lines)):
            if lines[j]==ind+"}":
                fns.append((j-i+1, os.path.relpath(f,root), m.group(7))); break
fns.sort(reverse=True)
print("longest functions:"); [print(f"  {n:4d} {p}::{name}") for n,p,name in fns[:10]]
print("functions over 100 lines:", sum(1 for n,_,_ in fns if n>100))
for c in crates[:-1]:
    out=subprocess.run(f"grep -rhoE '^\\s*pub (fn|struct|enum|trait|type|const|mod|use) ' {root}/{c}/src | wc -l",shell=True,capture_output=True,text=True).stdout.strip()
    print(f"pub items (pub fn/struct/enum/trait/type/const/mod/use lines) {c}: {out}")
