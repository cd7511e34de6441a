"""The soak's verdict on one run directory (bench/soak.sh writes it):
prints a table of the samples and PASS or FAIL per check, writes
<run>/verdict.

    python3 bench/soak_verdict.py target/soak/<run> [warm-up seconds]

Connections churn during the load, so the open file descriptors swing
with them; a leak shows as descriptors that stay open once the load has
gone, or that creep up over the hour. Memory is judged by its spread
after the warm-up.
"""
import csv
import sys

run = sys.argv[1]
warmup = int(sys.argv[2]) if len(sys.argv) > 2 else 600
rows = [dict((k, int(v)) for k, v in r.items()) for r in csv.DictReader(open(f"{run}/samples.csv"))]
# The load starts 10 s after the baseline sample and runs its seconds;
# then its connections wind down (a minute at most).
load_seconds = int(open(f"{run}/load_seconds").read())
baseline, last = rows[0], rows[-1]
steady = [r for r in rows if warmup <= r["t"] <= 10 + load_seconds]


def median(values):
    values = sorted(values)
    return values[len(values) // 2] if values else 0


def spread(key):
    mid = median(r[key] for r in steady)
    return mid, max(abs(r[key] - mid) / mid for r in steady) if mid else 1.0


def creep(key):
    """The median of the steady window's last third over its first third's."""
    third = max(1, len(steady) // 3)
    first = median(r[key] for r in steady[:third])
    return median(r[key] for r in steady[-third:]) / first if first else 1.0


panics = sum(line.count("panicked") for line in open(f"{run}/server.log", errors="replace"))
checks = []
mid, worst = spread("rss_kib") if steady else (0, 1.0)
checks.append((f"RSS within 10 % of its median after the warm-up (median {mid / 1024:.1f} MiB, worst {worst:.1%})", worst <= 0.10))
for key in ("rss_kib", "fds"):
    ratio = creep(key) if steady else 2.0
    checks.append((f"{key}: the steady window's last third over its first third {ratio:.3f} (at most 1.10)", ratio <= 1.10))
for key in ("fds", "connections", "subscriptions"):
    checks.append((f"{key} back to the baseline after the load ({baseline[key]} -> {last[key]})", last[key] == baseline[key]))
checks.append((f"no panic in the server's log ({panics})", panics == 0))

print("| t (s) | RSS (MiB) | fds | connections | subscriptions |")
print("|---|---|---|---|---|")
for r in rows[:: max(1, len(rows) // 40)] + [last]:
    print(f"| {r['t']} | {r['rss_kib'] / 1024:.1f} | {r['fds']} | {r['connections']} | {r['subscriptions']} |")
print()
for text, ok in checks:
    print(f"- {'PASS' if ok else 'FAIL'}: {text}")
verdict = "PASS" if all(ok for _, ok in checks) else "FAIL"
print("soak:", verdict)
open(f"{run}/verdict", "w").write(verdict + "\n")
