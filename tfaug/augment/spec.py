"""Augmentation specs: the text that names augmentations and their parameters.

    spec  := part ("+" part)*            parts apply left to right
    part  := name | name "(" key "=" value ("," key "=" value)* ")"
    value := true | false | none | a number | a bare word (l2, linf) | a spec

e.g. `standard(pad=2)+latent_adversarial(eps=1.3,steps=1,amortized=true)`, or with a
spec as a value: `fixmatch(mu=7,strong=standard+cutout(size=12))`. A part's
name without its parameters is its label (`standard+latent_adversarial`), which the
study and the tuner use to name a method.
"""

import re
from typing import Any, Dict, List, NamedTuple

from tfaug.errors import ConfigError

_PART = re.compile(r"^\s*([A-Za-z_]\w*)\s*(?:\((.*)\))?\s*$", re.S)


class Spec(str):
    """The type of a parameter whose value is itself an augmentation spec (e.g.
    fixmatch's strong view): the registry resolves and builds it like a spec."""


class Part(NamedTuple):
    name: str
    params: Dict[str, Any]


def _value(text: str, where: str):
    word = text.strip()
    if not word:
        raise ConfigError(f"{where}: a parameter has no value; write key=value.")
    lower = word.lower()
    if lower in ("true", "false"):
        return lower == "true"
    if lower in ("none", "null"):
        return None
    for kind in (int, float):
        try:
            return kind(word)
        except ValueError:
            pass
    if not re.match(r"[A-Za-z_]", word):  # a bare word, or a spec read when resolved
        raise ConfigError(f"{where}: cannot read the value {word!r}.")
    return word


def _split_outside(text: str, separator: str, spec: str) -> List[str]:
    """Splits `text` on `separator` outside parentheses (so values such as 1e+3 and
    nested specs stay whole)."""
    parts, depth, current = [], 0, []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise ConfigError(f"Augmentation {spec!r}: unbalanced ')'.")
        if char == separator and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if depth:
        raise ConfigError(f"Augmentation {spec!r}: unbalanced '('.")
    return parts + ["".join(current)]


def parse(spec: str) -> List[Part]:
    """The parts of `spec`, with their parameters as written (not yet validated)."""
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError(f"An augmentation must be a non-empty spec such as 'none' or "
                          f"'latent_random(eps=4)', got {spec!r}.")
    parts = []
    for text in _split_outside(spec, "+", spec):
        match = _PART.match(text)
        if not match:
            raise ConfigError(f"Augmentation {spec!r}: cannot read {text.strip()!r}; "
                              "write name or name(key=value,...).")
        name, body = match.group(1), match.group(2)
        params = {}
        for item in ([] if body is None or not body.strip()
                     else _split_outside(body, ",", spec)):
            key, eq, value = item.partition("=")
            key = key.strip()
            if not eq or not re.fullmatch(r"[A-Za-z_]\w*", key):
                raise ConfigError(f"Augmentation {spec!r}: cannot read {item.strip()!r} "
                                  "in the parameters of " f"{name}; write key=value.")
            if key in params:
                raise ConfigError(f"Augmentation {spec!r}: {name} sets {key} twice.")
            params[key] = _value(value, f"Augmentation {spec!r}, {name}.{key}")
        parts.append(Part(name, params))
    return parts


def _show(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, float):
        return repr(float(f"{value:.6g}"))
    return str(value)


def format_spec(parts: List[Part]) -> str:
    """The spec text of `parts` (parameters in the order given)."""
    return "+".join(p.name + ("(" + ",".join(f"{k}={_show(v)}" for k, v in
                                             p.params.items()) + ")" if p.params else "")
                    for p in parts)


def label(spec: str) -> str:
    """The spec's parts without their parameters: 'standard+latent_adversarial'."""
    return "+".join(p.name for p in parse(spec))


def named(entry: str):
    """(label, spec) of a study's method entry: 'label: spec', or a spec labelled by
    its names ('reconstruction: vaegan_random(eps=0)' vs 'latent_random(eps=4)')."""
    name, colon, spec = entry.partition(":")
    if not colon:
        return label(entry), entry
    if not re.fullmatch(r"\s*[\w+.-]+\s*", name):
        raise ConfigError(f"Method {entry!r}: a label before ':' is letters, digits, "
                          "'_', '+', '.' or '-'.")
    return name.strip(), spec.strip()
