"""Augmentations by spec (tfaug.augment.spec): "none", "standard", "mixup", "cutout",
"randaugment", "image_pgd", "latent_random", "latent_adversarial" (through the flow),
"vaegan_random", "vaegan_adversarial" (the same perturbations through a VAE-GAN), each
optionally with parameters, joined by "+" and applied left to right, and "fixmatch"
(consistency training on unlabelled images, whose views are specs themselves):

    standard(pad=2)+latent_adversarial(eps=1.3,steps=1)     (the paper's order)
    latent_adversarial(amortized=true)+standard             (latents cacheable)
    standard+fixmatch(mu=7,strong=latent_adversarial(eps=1)+standard)

A method's parameters are its class's constructor arguments (names, types, defaults),
so the registry, the tuner, the study and the command line share one parameter set.
"""

import inspect
import typing
from typing import Dict, List

from tfaug import config as cfglib
from tfaug.augment.base import Compose, NoAugmentation
from tfaug.augment.consistency import FixMatch
from tfaug.augment.image import Cutout, ImagePGD, Mixup, Standard
from tfaug.augment.latent import LatentAdversarial, LatentRandom
from tfaug.augment.randaugment import RandAugment
from tfaug.augment.spec import Part, Spec, format_spec, label, parse
from tfaug.errors import ConfigError

METHODS = {"none": NoAugmentation, "standard": Standard, "mixup": Mixup,
           "cutout": Cutout, "randaugment": RandAugment, "image_pgd": ImagePGD,
           "latent_random": LatentRandom, "latent_adversarial": LatentAdversarial,
           "vaegan_random": LatentRandom, "vaegan_adversarial": LatentAdversarial,
           "fixmatch": FixMatch}
NAMES = tuple(METHODS)
# The latent model each latent augmentation perturbs through.
LATENT_MODEL = {"latent_random": "flow", "latent_adversarial": "flow",
                "vaegan_random": "vaegan", "vaegan_adversarial": "vaegan"}
_NOT_PARAMETERS = ("self", "flow", "seed")


def parameters(name: str) -> Dict[str, inspect.Parameter]:
    """The parameters of method `name` (with their defaults and annotations)."""
    _check_name(name)
    signature = inspect.signature(METHODS[name].__init__)
    return {k: p for k, p in signature.parameters.items() if k not in _NOT_PARAMETERS}


def _check_name(name):
    if name not in METHODS:
        raise ConfigError(f"Unknown augmentation {name!r}; choose from "
                          f"{', '.join(NAMES)} (join with '+').")


def resolve(spec: str) -> List[Part]:
    """The parts of `spec` with every parameter checked and typed (defaults not
    filled in). Unknown names and parameters are clear errors."""
    parts = []
    for part in parse(spec):
        _check_name(part.name)
        known = parameters(part.name)
        hints = typing.get_type_hints(METHODS[part.name].__init__)
        unknown = sorted(set(part.params) - set(known))
        if unknown:
            raise ConfigError(f"{part.name} has no parameter {', '.join(unknown)}; its "
                              f"parameters: {', '.join(known) or 'none'}.")
        parts.append(Part(part.name, {k: _typed(f"{part.name}.{k}", hints[k], v)
                                      for k, v in part.params.items()}))
    return parts


def _typed(name, kind, value):
    if kind is Spec:  # a nested spec, checked and written the one way
        value = "none" if value is None else value  # the grammar reads none as None
        if not isinstance(value, str):
            raise ConfigError(f"{name} is an augmentation spec such as "
                              f"'standard+cutout', got {value!r}.")
        return Spec(canonical(value))
    return cfglib.coerce(name, kind, value)


def filled(part: Part) -> Dict[str, object]:
    """The parameters of `part`, defaults filled in."""
    return {k: part.params.get(k, p.default) for k, p in parameters(part.name).items()}


def nested(part: Part) -> Dict[str, str]:
    """The parameters of `part` whose values are specs, with their specs (defaults
    included)."""
    hints = typing.get_type_hints(METHODS[part.name].__init__)
    return {k: v for k, v in filled(part).items() if hints.get(k) is Spec}


def canonical(spec: str) -> str:
    """`spec` with typed values, written the one way (e.g. for reports)."""
    return format_spec(resolve(spec))


def overlay(spec: str, written: str) -> str:
    """`spec` (e.g. tuned) with the parameters `written` sets on top, on its parts of
    the same names (each must occur once in `spec`). A nested spec written over one of
    the same parts is overlaid the same way, so values set inside it in `spec` stay;
    a nested spec of other parts replaces it."""
    parts = resolve(spec)
    for part in resolve(written):
        hits = [i for i, p in enumerate(parts) if p.name == part.name]
        if len(hits) != 1:
            raise ConfigError(f"{spec!r} has {len(hits)} parts named {part.name!r}, "
                              "not one.")
        params = dict(parts[hits[0]].params)
        for key, value in part.params.items():
            below = params.get(key)
            params[key] = overlay(below, value) if (
                isinstance(value, Spec) and isinstance(below, Spec)
                and label(below) == label(value)) else value
        parts[hits[0]] = Part(part.name, params)
    return canonical(format_spec(parts))


def latent_models_needed(spec: str) -> set:
    """The latent models ("flow", "vaegan") that augmentation `spec` needs (its
    nested specs included)."""
    parts = resolve(spec)
    return {LATENT_MODEL[p.name] for p in parts if p.name in LATENT_MODEL}.union(
        *(latent_models_needed(v) for p in parts for v in nested(p).values()))


def consistency(spec: str):
    """The consistency part (fixmatch) of `spec` with every parameter filled in, or
    None."""
    for part in resolve(spec):
        if part.name == "fixmatch":
            return Part(part.name, filled(part))
    return None


def needs_flow(spec: str) -> bool:
    return "flow" in latent_models_needed(spec)


def build(spec: str, models: dict = None, image_shape=None):
    """The augmentation `spec`; `models` maps "flow" and "vaegan" to the LatentModels
    of its latent parts, checked against `image_shape`."""
    parts = resolve(spec)
    models = models or {}
    for kind in sorted(latent_models_needed(spec)):
        if models.get(kind) is None:
            raise ConfigError(f"Augmentation {spec!r} needs a {kind} (--{kind}).")
    built = []
    for part in parts:
        cls = METHODS[part.name]
        params = {**part.params, **{k: build(v, models) for k, v in nested(part).items()}}
        if part.name in LATENT_MODEL:
            built.append(cls(models[LATENT_MODEL[part.name]], **params))
        else:
            built.append(cls(**params))
    augmentation = built[0] if len(built) == 1 else Compose(*built)
    if image_shape is not None:
        augmentation.check_image_shape(image_shape)
    return augmentation


class _Placeholder:
    """Stands in for a latent model while a spec's parameters are validated."""

    def level_weights(self, decay: float) -> float:
        return 1.0  # the real model's levels are checked when it is built


def validate(spec: str) -> str:
    """Checks `spec` (names, parameters and their values) without latent models;
    returns it."""
    build(spec, {"flow": _Placeholder(), "vaegan": _Placeholder()})
    return spec


__all__ = ["LATENT_MODEL", "METHODS", "NAMES", "build", "canonical", "label",
           "consistency", "filled", "latent_models_needed", "needs_flow", "nested",
           "parameters", "resolve", "validate", "overlay"]
