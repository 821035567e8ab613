"""tfaug against the reference implementation (flow-lp), from one sitting's figures.

Reads the JSON of benchmarks/flow_throughput.py and benchmarks/augment_throughput.py
(--setups including lenet) and of ../shared/bench/peer/peer_bench.py (sections A, B,
C), and prints img/s side by side with the ratio tfaug / flow-lp. Only compare files
written in the same sitting: the machine varies by 20-40% between runs.

  python benchmarks/compare.py --flow=F.json --augment=A.json --peer=P.json
"""

import argparse
import json

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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flow", required=True)
    parser.add_argument("--augment", required=True)
    parser.add_argument("--peer", required=True)
    args = parser.parse_args()
    load = lambda p: json.load(open(p))
    ours = {"flow": load(args.flow)["configs"], "augment": load(args.augment)["setups"]}
    rows = table(ours, load(args.peer))
    print("| work | flow-lp img/s | tfaug img/s | tfaug / flow-lp |")
    print("|---|---|---|---|")
    for what, a, b, ratio in rows:
        print(f"| {what} | {b:.0f} | {a:.0f} | {ratio:.2f} |")


if __name__ == "__main__":
    main()
