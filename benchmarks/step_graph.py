"""Operations in each training step's compiled graph (LeNet, flow (b), batch 128, the
rows of augment_throughput.py): a deterministic check, unlike timings on a machine
whose speed moves by 20-40% between runs, that a change left a step's work as it was.
Run it from two checkouts (PYTHONPATH=<checkout>) and compare; rows an older checkout
does not have are skipped.

  PYTHONPATH=. .venv/bin/python benchmarks/step_graph.py
"""

import collections
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

import tensorflow as tf  # noqa: E402
from absl import app  # noqa: E402

from fixtures import REFERENCE_ATTACK as ATTACK  # noqa: E402
from fixtures import flow_b_batch, training_model  # noqa: E402
from tfaug import augment  # noqa: E402

BATCH = 128
ROWS = {  # label: (augmentation class name, its arguments after the flow, cached)
    "clean": ("NoAugmentation", None, False),
    "latent random (encodes)": ("LatentRandom", dict(eps=0.2, norm=None), False),
    "latent random (cached latents)": ("LatentRandom", dict(eps=0.2, norm=None), True),
    "latent adversarial, 3 steps (encodes)": ("LatentAdversarial",
                                              dict(ATTACK, steps=3), False),
    "amortised 1 step (cached)": ("LatentAdversarial",
                                  dict(ATTACK, steps=1, amortized=True), True),
    "free (cached)": ("LatentAdversarial", dict(ATTACK, steps=1, free=True), True),
    "amortised, refresh 4 (cached)": ("LatentAdversarial",
                                      dict(ATTACK, steps=1, amortized=True, refresh=4),
                                      True),
}


def op_counts(step, batch):
    graph = tf.function(step).get_concrete_function(batch).graph
    counts = collections.Counter()

    def visit(g):  # the graph and the functions it holds (a tf.cond's branches)
        for op in g.get_operations():
            counts[op.type] += 1
        for f in getattr(g, "_functions", {}).values():
            if hasattr(f, "graph"):
                visit(f.graph)

    visit(graph)
    return counts


def main(argv):
    del argv
    glow, (cached, y) = flow_b_batch(BATCH)
    print(f"tfaug from {os.path.dirname(augment.__file__)}")
    for label, (name, kwargs, use_cache) in ROWS.items():
        try:
            aug = (getattr(augment, name)() if kwargs is None
                   else getattr(augment, name)(glow, **kwargs))
        except TypeError:
            print(f"  {label:<40} (not in this checkout)")
            continue
        model = training_model(aug, "lenet", 1024)
        counts = op_counts(model.train_step,
                           (cached if use_cache else cached["images"], y))
        heavy = sum(n for t, n in counts.items()
                    if t in ("Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter",
                             "MatMul", "BatchMatMulV2"))
        print(f"  {label:<40} {sum(counts.values()):6d} ops, {heavy:4d} conv/matmul")


if __name__ == "__main__":
    app.run(main)
