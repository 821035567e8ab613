"""tfaug against the reference implementation (flow-lp), from one sitting's figures.

Reads the JSON of benchmarks/flow_throughput.py and benchmarks/augment_throughput.py
(--setups including lenet) and of ../shared/bench/peer/peer_bench.py (sections A, B,
C), and prints img/s side by side with the ratio tfaug / flow-lp. Only compare files
written in the same sitting: the machine varies by 20-40% between runs. Given several
interleaved rounds (one file of each kind per round, in the same order), it pairs them
by round and prints the median img/s and the median ratio with its range.

  python benchmarks/compare.py --flow F1.json [F2.json ...] --augment A1.json [...] \
      --peer P1.json [...]

With --before_flow/--before_augment (the same scripts run from an earlier commit, in
the same rounds of the same sitting) it also prints every tfaug row of both commits
with the ratio now / before, to show that nothing got slower.
"""

import argparse
import json
import statistics

# (what, tfaug figure, flow-lp figure): paths into the three JSON files.
ROWS = [
    ("Glow train step (a) 32x32x3 L3 K4 w64, b64",
     ("flow", "a", "train step (batch 64)"), ("A", "A1_train_b64")),
    ("Glow train step (b) 28x28x1 L2 K8 w64, b64",
     ("flow", "b", "train step (batch 64)"), ("A", "A2_train_b64")),
    ("encode (a), b256", ("flow", "a", "encode (batch 256)"), ("B", "A1_b256", "encode")),
    ("decode (a), b256", ("flow", "a", "decode (batch 256)"), ("B", "A1_b256", "decode")),
    ("encode (b), b256", ("flow", "b", "encode (batch 256)"), ("B", "A2_b256", "encode")),
    ("decode (b), b256", ("flow", "b", "decode (batch 256)"), ("B", "A2_b256", "decode")),
    ("random latent perturbation alone (b), b128",
     ("augment", "lenet", "latent random (encode + decode) alone"),
     ("C", "A2flow_LeNet_b128", "flow_rand_pert")),
    ("adversarial latent perturbation alone (b), 3 L2 steps, b128",
     ("augment", "lenet", "latent adversarial, 3 L2 steps alone"),
     ("C", "A2flow_LeNet_b128", "flow_adv_pert")),
    ("LeNet clean training step, b128",
     ("augment", "lenet", "clean training step"),
     ("C", "A2flow_LeNet_b128", "clean_step")),
    ("random latent training step, encoding in the step",
     ("augment", "lenet", "latent random training step (encodes)"),
     ("C", "A2flow_LeNet_b128", "rand_step")),
    ("random latent training step, cached latents",
     ("augment", "lenet", "latent random training step (cached latents)"),
     ("C", "A2flow_LeNet_b128", "rand_step")),
    ("adversarial training step, 3 L2 steps (vs reference 3 steps)",
     ("augment", "lenet", "latent adversarial training step, 3 L2 steps (encodes)"),
     ("C", "A2flow_LeNet_b128", "adv_step")),
    ("adversarial training step, amortised 1 step + cache (vs reference 3 steps)",
     ("augment", "lenet",
      "latent adversarial training step, amortised 1 step (cached latents)"),
     ("C", "A2flow_LeNet_b128", "adv_step")),
    ("adversarial training step, free + cache (vs reference 3 steps)",
     ("augment", "lenet", "latent adversarial training step, free (cached latents)"),
     ("C", "A2flow_LeNet_b128", "adv_step")),
    ("adversarial training step, amortised 1 step, refresh 4 + cache (vs reference 3 "
     "steps)", ("augment", "lenet", "latent adversarial training step, amortised 1 "
                "step, refresh 4 (cached latents)"),
     ("C", "A2flow_LeNet_b128", "adv_step")),
    ("adversarial training step, free, refresh 4 + cache (vs reference 3 steps)",
     ("augment", "lenet",
      "latent adversarial training step, free, refresh 4 (cached latents)"),
     ("C", "A2flow_LeNet_b128", "adv_step")),
    ("Glow train step, paper's CIFAR-10 Glow (A3) L3 K32 w512, b16",
     ("flow", "paper", "train step (batch 16)"), ("A", "A3_train_b16")),
]


def _get(tree, path):
    for key in path:
        tree = tree[key]
    return tree


def table(ours: dict, peer: dict) -> list:
    """[(what, tfaug img/s, flow-lp img/s, ratio)] for the rows both files have."""
    rows = []
    for what, mine, theirs in ROWS:
        try:
            a = _get(ours, mine)
            b = _get(peer, theirs)["img_per_s"]
        except (KeyError, TypeError):
            continue
        rows.append((what, a, b, a / b))
    return rows


def rounds_table(tables: list) -> list:
    """[(what, median tfaug, median flow-lp, median ratio, min ratio, max ratio)] for
    the rows every round has; tables are table()'s outputs, one per round."""
    by_row = {}
    for rows in tables:
        for what, a, b, ratio in rows:
            by_row.setdefault(what, []).append((a, b, ratio))
    out = []
    for what, _, _ in ROWS:
        values = by_row.get(what, [])
        if len(values) != len(tables):
            continue
        a, b, ratios = zip(*values)
        out.append((what, statistics.median(a), statistics.median(b),
                    statistics.median(ratios), min(ratios), max(ratios)))
    return out


def flatten(flow: dict, augment: dict) -> dict:
    """{(file, setup or config, row): img/s} of one round's tfaug figures."""
    return {(kind, group, row): value
            for kind, groups in (("flow", flow), ("augment", augment))
            for group, rows in groups.items() for row, value in rows.items()}


def before_table(now: list, before: list) -> list:
    """[(row, median before, median now, median ratio, min, max)] for the rows every
    round of both commits has; now and before are flatten()'s outputs per round."""
    out = []
    for key in now[0]:
        if all(key in r for r in now + before):
            ratios = [n[key] / b[key] for n, b in zip(now, before)]
            out.append((key, statistics.median(b[key] for b in before),
                        statistics.median(n[key] for n in now),
                        statistics.median(ratios), min(ratios), max(ratios)))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flow", required=True, nargs="+")
    parser.add_argument("--augment", required=True, nargs="+")
    parser.add_argument("--peer", required=True, nargs="+")
    parser.add_argument("--before_flow", nargs="+", default=[])
    parser.add_argument("--before_augment", nargs="+", default=[])
    args = parser.parse_args()
    if not len(args.flow) == len(args.augment) == len(args.peer):
        parser.error("give one --flow, --augment and --peer file per round.")
    if (args.before_flow or args.before_augment) and not (
            len(args.before_flow) == len(args.before_augment) == len(args.flow)):
        parser.error("give one --before_flow and --before_augment file per round.")
    load = lambda p: json.load(open(p))
    tables = [table({"flow": load(f)["configs"], "augment": load(a)["setups"]},
                    load(p)) for f, a, p in zip(args.flow, args.augment, args.peer)]
    rows = rounds_table(tables)
    n = len(tables)
    span = f" (range over {n} rounds)" if n > 1 else ""
    print(f"| work | flow-lp img/s | tfaug img/s | tfaug / flow-lp{span} |")
    print("|---|---|---|---|")
    for what, a, b, ratio, low, high in rows:
        extra = f" ({low:.2f}-{high:.2f})" if n > 1 else ""
        print(f"| {what} | {b:.0f} | {a:.0f} | {ratio:.2f}{extra} |")
    if args.before_flow:
        rounds = lambda flows, augments: [
            flatten(load(f)["configs"], load(a)["setups"]) for f, a in zip(flows, augments)]
        print(f"\n| tfaug row | before img/s | now img/s | now / before{span} |")
        print("|---|---|---|---|")
        for (kind, group, row), b, a, ratio, low, high in before_table(
                rounds(args.flow, args.augment),
                rounds(args.before_flow, args.before_augment)):
            extra = f" ({low:.2f}-{high:.2f})" if n > 1 else ""
            print(f"| {kind} {group}: {row} | {b:.0f} | {a:.0f} | {ratio:.2f}{extra} |")


if __name__ == "__main__":
    main()
