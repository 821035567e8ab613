"""Search spaces: which parameters of an augmentation spec (and the learning rate) a
search varies, over which values.

A space maps "part.param" (e.g. "latent_adversarial.eps"; in a nested spec by its path,
"fixmatch.strong.latent_random.eps") or "lr" to a domain:
  [v1, v2, ...]                          one of these values
  {"min": a, "max": b, "log": true}      a number in [a, b] (integers if a and b are)
  {"fraction_of": "eps", "min": a, "max": b}
                                         this fraction of the same part's parameter
  v                                      fixed at v
Parameters written in the spec are fixed; every other parameter of each part (nested
ones included) that DEFAULT_SPACE lists is searched over its default domain, unless
the space says otherwise.
"""

from typing import Any, Dict, Tuple

import keras_tuner

from tfaug.augment import registry
from tfaug.augment.spec import Part, format_spec
from tfaug.errors import ConfigError

_LATENT_ADVERSARIAL = {"eps": {"min": 0.1, "max": 10.0, "log": True},
                       "alpha": {"fraction_of": "eps", "min": 0.1, "max": 1.0},
                       "steps": [1, 2, 3], "random_start": [True, False],
                       "ratio": {"min": 0.25, "max": 1.0}}
DEFAULT_SPACE: Dict[str, Dict[str, Any]] = {
    "standard": {"pad": [1, 2, 3, 4], "flip": [True, False]},
    "mixup": {"alpha": {"min": 0.1, "max": 2.0, "log": True}},
    "cutout": {"size": [4, 6, 8, 10, 12, 14]},
    "randaugment": {"ops": [1, 2, 3], "strength": {"min": 0.25, "max": 1.0}},
    "image_pgd": {"eps": {"min": 0.01, "max": 0.3, "log": True},
                  "alpha": {"fraction_of": "eps", "min": 0.1, "max": 1.0},
                  "steps": [1, 3, 5, 7]},
    "latent_random": {"eps": {"min": 0.5, "max": 30.0, "log": True},
                      "ratio": {"min": 0.25, "max": 1.0}},
    "latent_adversarial": _LATENT_ADVERSARIAL,
    # a 32-dimensional latent: radii scaled by sqrt(32 / 784) ~ 0.2 of the flow's
    "vaegan_random": {"eps": {"min": 0.1, "max": 6.0, "log": True},
                      "ratio": {"min": 0.25, "max": 1.0}},
    "vaegan_adversarial": {**_LATENT_ADVERSARIAL,
                           "eps": {"min": 0.02, "max": 2.0, "log": True}},
    # mu is the cost (images per step), so it is not searched unless asked
    "fixmatch": {"threshold": [0.8, 0.9, 0.95],
                 "weight": {"min": 0.25, "max": 4.0, "log": True}},
}


def _parts_by_name(spec: str):
    parts = registry.resolve(spec)
    names = [p.name for p in parts]
    if len(set(names)) != len(names):
        raise ConfigError(f"Cannot tune {spec!r}: a method occurs twice in it.")
    return parts


def _paths(spec: str, prefix: str = "") -> Dict[str, Part]:
    """Every part of `spec` by its path: "standard", and in a nested spec
    "fixmatch.strong.latent_adversarial"."""
    paths = {}
    for part in _parts_by_name(spec):
        path = prefix + part.name
        paths[path] = part
        for param, value in registry.nested(part).items():
            paths.update(_paths(value, f"{path}.{param}."))
    return paths


def effective_space(spec: str, space: Dict[str, Any]) -> Dict[str, Any]:
    """The space a search over `spec` uses: defaults for the parts' unwritten
    parameters (in nested specs too), then `space` (whose keys must name a part's
    parameter by its path, e.g. "latent_adversarial.eps" or
    "fixmatch.strong.latent_random.eps", or lr)."""
    paths = _paths(spec)
    result = {}
    for path, part in paths.items():
        for param, domain in DEFAULT_SPACE.get(part.name, {}).items():
            if param not in part.params and not _settled(part, param):
                result[f"{path}.{param}"] = domain
    for key, domain in space.items():
        if key != "lr":
            path, _, param = key.rpartition(".")
            if path not in paths or param not in registry.parameters(paths[path].name):
                raise ConfigError(
                    f"Search space key {key!r} names no parameter of {spec!r}: keys are "
                    f"'lr' or part.param with part one of {', '.join(paths)} and param "
                    "one of its parameters.")
        result[key] = domain
    for key, domain in result.items():
        _check_domain(key, domain)
    return result


def _settled(part: Part, param: str) -> bool:
    """Whether `part`'s written parameters leave `param` one valid value: soft
    attack targets need a random start."""
    return param == "random_start" and bool(part.params.get("soft_targets"))


def _check_domain(key, domain):
    if isinstance(domain, list):
        if not domain:
            raise ConfigError(f"Search space {key}: an empty list of choices.")
    elif isinstance(domain, dict):
        unknown = set(domain) - {"min", "max", "log", "fraction_of"}
        if unknown or "min" not in domain or "max" not in domain:
            raise ConfigError(f"Search space {key}: a range needs min and max (and "
                              f"optionally log or fraction_of), got {domain}.")
        if domain["min"] > domain["max"]:
            raise ConfigError(f"Search space {key}: min ({domain['min']}) is larger "
                              f"than max ({domain['max']}).")
        if domain.get("log") and domain["min"] <= 0:
            raise ConfigError(f"Search space {key}: a log-scale range needs min > 0, "
                              f"got {domain['min']}.")


def declare(hp: keras_tuner.HyperParameters, spec: str,
            space: Dict[str, Any]) -> Tuple[str, Any]:
    """Declares the search over `spec` in `hp`; returns this trial's (spec with its
    values, learning rate or None)."""
    full = effective_space(spec, space)
    paths = _paths(spec)
    values, relative = {}, {}
    for key, domain in full.items():
        if isinstance(domain, dict) and "fraction_of" in domain:
            relative[key] = domain
        else:
            values[key] = _declare_one(hp, key, domain)
    for key, domain in relative.items():  # e.g. alpha as a fraction of eps
        path = key.rpartition(".")[0]
        of, part = domain["fraction_of"], paths[path]
        base = values.get(f"{path}.{of}", part.params.get(
            of, registry.parameters(part.name)[of].default))
        fraction = _declare_one(hp, key + "_fraction",
                                {k: v for k, v in domain.items() if k != "fraction_of"})
        values[key] = base * fraction
    return registry.canonical(_with_values(spec, values)), values.get("lr")


def _with_values(spec: str, values: Dict[str, Any], prefix: str = "") -> str:
    """`spec` with `values` (by parameter path) set, in nested specs too."""
    parts = []
    for part in _parts_by_name(spec):
        path = prefix + part.name
        params = dict(part.params)
        params.update({k.rpartition(".")[2]: v for k, v in values.items()
                       if k.rpartition(".")[0] == path})
        for param, value in registry.nested(part).items():
            filled = _with_values(value, values, f"{path}.{param}.")
            if param in part.params or filled != registry.canonical(value):
                params[param] = filled
        parts.append(Part(part.name, params))
    return format_spec(parts)


def _declare_one(hp, name, domain):
    if isinstance(domain, list):
        return hp.Fixed(name, domain[0]) if len(domain) == 1 else hp.Choice(name, domain)
    if isinstance(domain, dict):
        low, high = domain["min"], domain["max"]
        if low == high:
            return hp.Fixed(name, low)
        sampling = "log" if domain.get("log") else "linear"
        if isinstance(low, int) and isinstance(high, int) and not isinstance(low, bool):
            return hp.Int(name, low, high, sampling=sampling)
        return hp.Float(name, float(low), float(high), sampling=sampling)
    return hp.Fixed(name, domain)
