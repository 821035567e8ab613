"""Augmentations by name: "none", "standard", "mixup", "cutout", "image_pgd",
"latent_random", "latent_adversarial", and "+"-joined compositions applied left to
right (e.g. "standard+latent_adversarial", as the paper trains)."""

from tfaug.augment.base import Compose, NoAugmentation
from tfaug.augment.image import Cutout, ImagePGD, Mixup, Standard
from tfaug.augment.latent import LatentAdversarial, LatentRandom
from tfaug.errors import ConfigError

NAMES = ("none", "standard", "mixup", "cutout", "image_pgd", "latent_random",
         "latent_adversarial")
LATENT = ("latent_random", "latent_adversarial")


def needs_flow(spec: str) -> bool:
    return any(part in LATENT for part in spec.split("+"))


def build(spec: str, params, flow=None, image_shape=None):
    """The augmentation `spec` with parameters from `params` (a config with fields eps,
    alpha, attack_steps, norm, random_start, away, ratio, pgd_eps, pgd_alpha,
    pgd_norm, mixup_alpha, cutout_size, pad); `flow` is the LatentModel for latent
    parts, checked against `image_shape`."""
    parts = [p.strip() for p in spec.split("+")]
    unknown = [p for p in parts if p not in NAMES]
    if unknown:
        raise ConfigError(f"Unknown augmentation {', '.join(map(repr, unknown))}; "
                          f"choose from {', '.join(NAMES)} (join with '+').")
    if needs_flow(spec):
        if flow is None:
            raise ConfigError(f"Augmentation {spec!r} needs a flow (--flow).")
        shape = tuple(getattr(getattr(flow, "config", None), "image_shape", ()) or ())
        if image_shape is not None and shape and shape != tuple(image_shape):
            raise ConfigError(f"The flow models {shape} images but the dataset's are "
                              f"{tuple(image_shape)}: train or pick a flow for this "
                              "dataset.")
    p = params
    makers = {
        "none": lambda: NoAugmentation(),
        "standard": lambda: Standard(pad=p.pad),
        "mixup": lambda: Mixup(alpha=p.mixup_alpha),
        "cutout": lambda: Cutout(size=p.cutout_size),
        "image_pgd": lambda: ImagePGD(p.pgd_eps, p.pgd_alpha, p.attack_steps,
                                      p.pgd_norm, p.random_start, p.ratio),
        "latent_random": lambda: LatentRandom(flow, p.eps, p.norm, p.away,
                                              p.ratio),
        "latent_adversarial": lambda: LatentAdversarial(
            flow, p.eps, p.alpha, p.attack_steps, p.norm, p.random_start, p.ratio),
    }
    built = [makers[part]() for part in parts]
    return built[0] if len(built) == 1 else Compose(*built)
