"""The flows a study trains itself: one for its dataset when none ships, and the
attribution flows, each trained on part of the training split only, to tell what a
latent method owes to the unlabelled images its flow saw:

  labelled     a seed's labelled and validation images at a budget: what that seed's
               classifier may use anyway (one flow per budget and seed);
  unlabelled   the training split without the validation images of any of the study's
               seeds (one flow).

Each is trained resumably in its own directory, before the study's runs (shards
split them); a process that needs a flow another is training waits for it (a lock)
rather than train it twice.
"""

import os
from typing import Callable, List, Optional, Tuple

import numpy as np

from tfaug import flows, io
from tfaug.data.subsets import split_indices

LABELLED, UNLABELLED = "labelled", "unlabelled"
FLOW_DATA = (LABELLED, UNLABELLED)
# Run variants of the attribution runs: the method, trained with that flow.
VARIANT_OF = {LABELLED: "labelled-only flow", UNLABELLED: "flow without validation"}
KIND_OF = {v: k for k, v in VARIANT_OF.items()}


def train_flow(directory: str, images, test, config, preset: Optional[str],
               log: Callable) -> str:
    """The export directory of a flow trained on `images` (LabeledImages) with
    `preset` (None: the one for their channels) in `directory`; trained now unless it
    exists, resuming an interrupted training."""
    from tfaug.trainers.flow import FlowTrainer, config_for_images, estimated_minutes
    export_dir = os.path.join(directory, "export")
    if os.path.isdir(export_dir):
        return export_dir
    with io.locked(directory.rstrip(os.sep) + ".lock"):
        if not os.path.isdir(export_dir):  # another process may have trained it
            shape = tuple(images.info.image_shape)
            flow_config, preset = config_for_images(
                shape, {"dataset": config.dataset, **config.source_options()}, preset)
            log(f"training a flow on {len(images)} images with preset {preset} "
                f"({flow_config.train_steps} steps, about "
                f"{estimated_minutes(flow_config, shape):.0f} min on 2 CPU cores; "
                f"resumable) in {directory}")
            trainer = FlowTrainer(flow_config, directory, images, test)
            flows.save(trainer.glow, export_dir, trainer.fit(log=log))
    return export_dir


def attribution_indices(kind: str, labels, num_classes: int, config, budget: int,
                        seed: int) -> np.ndarray:
    """The indices in the training split of the images the `kind` flow of
    (budget, seed) learns from, ascending."""
    if kind == LABELLED:
        train, val = split_indices(labels, num_classes, seed=seed, per_class=budget,
                                   val_per_class=config.val_per_class)
        return np.sort(np.concatenate([train, val]))
    seeds = sorted({s for b in config.budgets for s in config.seeds_for(b)})
    validation = [split_indices(labels, num_classes, seed=s, per_class=0,
                                val_per_class=config.val_per_class)[1] for s in seeds]
    return np.setdiff1d(np.arange(len(labels)), np.concatenate(validation))


def attribution_dir(out_dir: str, kind: str, budget: int, seed: int) -> str:
    if kind == LABELLED:
        return os.path.join(out_dir, "flows", LABELLED, f"lpc{budget}", f"seed{seed}")
    return os.path.join(out_dir, "flows", UNLABELLED)


def attribution_flow(out_dir: str, kind: str, full, test, config, budget: int,
                     seed: int, log: Callable) -> str:
    """The export directory of the `kind` flow of (budget, seed), trained if needed
    with the study's preset for that kind."""
    return train_flow(attribution_dir(out_dir, kind, budget, seed),
                      full.take(attribution_indices(kind, full.labels,
                                                    full.info.num_classes, config,
                                                    budget, seed)), test,
                      config, config.flow_data[kind], log)


def attribution_flows(config) -> List[Tuple[str, int, int]]:
    """(kind, budget, seed) of every distinct attribution flow the study needs."""
    needed = []
    for kind in config.flow_data:
        for budget in config.flow_data_budgets:
            for seed in config.seeds_for(budget):
                key = (kind, budget, seed) if kind == LABELLED else (kind, 0, 0)
                if key not in needed:
                    needed.append(key)
    return needed
