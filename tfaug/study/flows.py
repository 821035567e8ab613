"""The flows a study trains itself: one for its dataset when none ships, and the
attribution flows, each named in the study's `flow_data` ({name: "images:preset"}, or
{name: preset} when the name is the images'), trained on:

  labelled     a seed's labelled and validation images at a budget: what that seed's
               classifier may use anyway (one flow per budget and seed);
  unlabelled   the training split without the validation images of any of the study's
               seeds (one flow);
  all          the whole training split, as the shipped flow (one flow; e.g. with a
               shorter preset, for a flow of another quality).

The runs of a method with flow `name` are the study's variant "`name` flow". Each flow
is trained resumably in its own directory, after the main grid and the attribution
runs whose flows are trained, before the other runs (shards split them); a process
that finds a flow held by another (a lock) trains the runs that do not need it, then
waits for it rather than train it twice.
"""

import os
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np

from tfaug import flows, io
from tfaug.data.subsets import split_indices
from tfaug.errors import ConfigError

LABELLED, UNLABELLED, ALL = "labelled", "unlabelled", "all"
IMAGES = (LABELLED, UNLABELLED, ALL)


def flow_specs(flow_data: Dict[str, str]) -> Dict[str, Tuple[str, str]]:
    """{name: (images, preset)} of a study's flow_data; a clear error for a bad one."""
    specs = {}
    for name, value in flow_data.items():
        images, colon, preset = str(value).partition(":")
        if not colon:
            images, preset = name, value
        if images not in IMAGES or not preset:
            raise ConfigError(f"flow_data {name!r}: {value!r} must be 'images:preset' "
                              f"with images one of {', '.join(IMAGES)} (or a preset "
                              "alone when the name is one of those).")
        specs[name] = (images, preset)
    return specs


def variant(name: str) -> str:
    """The study variant of runs with the attribution flow `name`."""
    return f"{name} flow"


def flow_name(run_variant: str) -> Optional[str]:
    """The attribution flow a variant's runs use, or None for other variants."""
    return run_variant[:-len(" flow")] if run_variant.endswith(" flow") else None


def train_flow(directory: str, images, test, config, preset: Optional[str],
               log: Callable, wait: bool = True) -> Optional[str]:
    """The export directory of a flow trained on `images` (LabeledImages) with
    `preset` (None: the one for their channels) in `directory`; trained now unless it
    exists, resuming an interrupted training. While another process trains it: once
    that one has, or without `wait` None at once."""
    from tfaug.trainers.flow import FlowTrainer, config_for_images, estimated_minutes
    export_dir = os.path.join(directory, "export")
    if os.path.isdir(export_dir):
        return export_dir
    with io.claimed(directory.rstrip(os.sep) + ".lock", wait) as ours:
        if not ours:
            return None
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


def attribution_indices(images: str, labels, num_classes: int, config, budget: int,
                        seed: int) -> np.ndarray:
    """The indices in the training split of the images an `images` flow of
    (budget, seed) learns from, ascending."""
    if images == LABELLED:
        train, val = split_indices(labels, num_classes, seed=seed, per_class=budget,
                                   val_per_class=config.val_per_class)
        return np.sort(np.concatenate([train, val]))
    if images == ALL:
        return np.arange(len(labels))
    seeds = sorted({s for b in config.budgets for s in config.seeds_for(b)})
    validation = [split_indices(labels, num_classes, seed=s, per_class=0,
                                val_per_class=config.val_per_class)[1] for s in seeds]
    return np.setdiff1d(np.arange(len(labels)), np.concatenate(validation))


def attribution_dir(out_dir: str, name: str, images: str, budget: int,
                    seed: int) -> str:
    if images == LABELLED:
        return os.path.join(out_dir, "flows", name, f"lpc{budget}", f"seed{seed}")
    return os.path.join(out_dir, "flows", name)


def attribution_flow(out_dir: str, name: str, full, test, config, budget: int,
                     seed: int, log: Callable, wait: bool = True) -> Optional[str]:
    """The export directory of attribution flow `name` for (budget, seed), trained
    if needed (see train_flow for `wait`)."""
    images, preset = flow_specs(config.flow_data)[name]
    return train_flow(attribution_dir(out_dir, name, images, budget, seed),
                      full.take(attribution_indices(images, full.labels,
                                                    full.info.num_classes, config,
                                                    budget, seed)), test,
                      config, preset, log, wait)


def has_trained_flow(out_dir: str, config, run) -> bool:
    """Whether `run` is an attribution run whose flow has been trained."""
    name = flow_name(run.variant)
    if name is None:
        return False
    images, _ = flow_specs(config.flow_data)[name]
    return os.path.isdir(os.path.join(attribution_dir(out_dir, name, images, run.budget,
                                                      run.seed), "export"))


def attribution_flows(config) -> List[Tuple[str, str, int, int]]:
    """(name, images, budget, seed) of every distinct attribution flow the study
    needs (budget and seed 0 for flows shared by every run)."""
    needed = []
    for name, (images, _) in flow_specs(config.flow_data).items():
        for budget in config.flow_data_budgets:
            for seed in config.seeds_for(budget):
                key = (name, images, budget, seed) if images == LABELLED else (
                    name, images, 0, 0)
                if key not in needed:
                    needed.append(key)
    return needed
