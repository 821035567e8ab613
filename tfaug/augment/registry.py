"""Augmentations by name: "none", "standard", "mixup", "cutout", "image_pgd",
"latent_random", "latent_adversarial" (through the flow), "vaegan_random",
"vaegan_adversarial" (the same perturbations through a VAE-GAN), and "+"-joined
compositions applied left to right (e.g. "standard+latent_adversarial", as the paper
trains)."""

from tfaug.augment.base import Compose, NoAugmentation
from tfaug.augment.image import Cutout, ImagePGD, Mixup, Standard
from tfaug.augment.latent import LatentAdversarial, LatentRandom
from tfaug.errors import ConfigError

NAMES = ("none", "standard", "mixup", "cutout", "image_pgd", "latent_random",
         "latent_adversarial", "vaegan_random", "vaegan_adversarial")
# The latent model each latent augmentation perturbs through.
LATENT_MODEL = {"latent_random": "flow", "latent_adversarial": "flow",
                "vaegan_random": "vaegan", "vaegan_adversarial": "vaegan"}


def latent_models_needed(spec: str) -> set:
    """The latent models ("flow", "vaegan") that augmentation `spec` needs."""
    return {LATENT_MODEL[p.strip()] for p in spec.split("+") if p.strip() in LATENT_MODEL}


def needs_flow(spec: str) -> bool:
    return "flow" in latent_models_needed(spec)


def build(spec: str, params, models: dict = None, image_shape=None):
    """The augmentation `spec` with parameters from `params` (a config with fields eps,
    alpha, attack_steps, norm, random_start, away, ratio, pgd_eps, pgd_alpha,
    pgd_norm, mixup_alpha, cutout_size, pad); `models` maps "flow" and "vaegan" to
    the LatentModels of latent parts, checked against `image_shape`."""
    parts = [p.strip() for p in spec.split("+")]
    unknown = [p for p in parts if p not in NAMES]
    if unknown:
        raise ConfigError(f"Unknown augmentation {', '.join(map(repr, unknown))}; "
                          f"choose from {', '.join(NAMES)} (join with '+').")
    models = models or {}
    for kind in sorted(latent_models_needed(spec)):
        if models.get(kind) is None:
            raise ConfigError(f"Augmentation {spec!r} needs a {kind} (--{kind}).")
        shape = tuple(getattr(getattr(models[kind], "config", None), "image_shape",
                              ()) or ())
        if image_shape is not None and shape and shape != tuple(image_shape):
            raise ConfigError(f"The {kind} models {shape} images but the dataset's are "
                              f"{tuple(image_shape)}: train or pick a {kind} for this "
                              "dataset.")
    p = params
    makers = {
        "none": lambda: NoAugmentation(),
        "standard": lambda: Standard(pad=p.pad),
        "mixup": lambda: Mixup(alpha=p.mixup_alpha),
        "cutout": lambda: Cutout(size=p.cutout_size),
        "image_pgd": lambda: ImagePGD(p.pgd_eps, p.pgd_alpha, p.attack_steps,
                                      p.pgd_norm, p.random_start, p.ratio),
    }

    def latent(part):
        model = models[LATENT_MODEL[part]]
        if part.endswith("_random"):
            return LatentRandom(model, p.eps, p.norm, p.away, p.ratio)
        return LatentAdversarial(model, p.eps, p.alpha, p.attack_steps, p.norm,
                                 p.random_start, p.ratio)

    built = [latent(part) if part in LATENT_MODEL else makers[part]() for part in parts]
    return built[0] if len(built) == 1 else Compose(*built)
