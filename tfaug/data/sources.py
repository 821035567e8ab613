"""Data by name: a spec resolves to a split in memory (tfaug.data.LabeledImages).

    fashion_mnist | mnist | cifar10 | cifar100 | svhn_cropped   (tfaug.data.builtin)
    folder:PATH          image files, one subfolder per class   (tfaug.data.folder)
    npz:FILE             arrays x, y [, x_test, y_test]         (tfaug.data.arrays)
    tfds:NAME[/CONFIG]   a tensorflow-datasets dataset          (tfaug.data.tfds_source)

A source is a module with `has_split(arg, split, options)` and `read(arg, split,
options)`; adding one is one file and one line in SOURCES. Every source has a "train"
split; one without a "test" split of its own gets a seeded, stratified fraction of its
training images held out as the test split (the same one for every run with the same
options), and the training split is the rest.
"""

import functools
import os

from tfaug.data import arrays, builtin, catalog, folder, tfds_source
from tfaug.data.labeled import LabeledImages
from tfaug.data.options import SourceOptions
from tfaug.data.subsets import held_out_split
from tfaug.errors import DataError

SOURCES = {"folder": folder, "npz": arrays, "tfds": tfds_source}
SPLITS = ("train", "test")
FORMS = ("folder:PATH", "npz:FILE", "tfds:NAME[/CONFIG]")


def parse(name: str):
    """(source module, argument) of a dataset spec, or a clear error."""
    if not isinstance(name, str) or not name.strip():
        raise DataError(f"A dataset must be a name such as fashion_mnist or "
                        f"{', '.join(FORMS)}; got {name!r}.")
    kind, colon, arg = name.partition(":")
    if not colon:
        catalog.spec(name)  # an unknown name lists the known ones
        return builtin, name
    if kind not in SOURCES or not arg.strip():
        raise DataError(f"Cannot read dataset {name!r}: write one of "
                        f"{', '.join(sorted(catalog.DATASETS))} or {', '.join(FORMS)}.")
    return SOURCES[kind], os.path.expanduser(arg.strip()) if kind != "tfds" else arg


def load(name: str, split: str = "train", **options) -> LabeledImages:
    """Split `split` ("train" or "test"; a tfds dataset's other splits too) of dataset
    `name` (a spec, above), in memory. `options` are SourceOptions' fields: data_dir,
    tfds_data_dir, manual_dir, image_size, channels, test_fraction, split_seed."""
    options = SourceOptions(**options)
    source, arg = parse(name)
    if split in SPLITS and not source.has_split(arg, "test", options):
        train, test = _held_out(source, arg, options)
        return train if split == "train" else test
    return _read(source, arg, split, options)


def load_every_image(name: str, **options) -> LabeledImages:
    """Every image of dataset `name`'s training split, no test split held out of it
    (for an unlabelled pool)."""
    source, arg = parse(name)
    return _read(source, arg, "train", SourceOptions(**options))


def _read(source, arg, split, options) -> LabeledImages:
    return _cached_read(source.__name__, arg, split, options,
                        _fingerprint(source, arg, options))


@functools.lru_cache(maxsize=4)
def _cached_read(module, arg, split, options, fingerprint) -> LabeledImages:
    source = next(s for s in (*SOURCES.values(), builtin) if s.__name__ == module)
    return source.read(arg, split, options)


def _fingerprint(source, arg, options):
    """What must not have changed for a cached read of local files to stand."""
    if source is folder and os.path.isdir(arg):
        return _stats(folder.image_paths(arg))
    if source is builtin and options.data_dir and os.path.isdir(options.data_dir):
        return _stats(os.path.join(options.data_dir, name)
                      for name in sorted(os.listdir(options.data_dir)))
    if source is arrays and os.path.isfile(arg):
        stat = os.stat(arg)
        return stat.st_mtime_ns, stat.st_size
    return None


def _stats(paths):
    return tuple((p, s.st_mtime_ns, s.st_size) for p, s in ((p, os.stat(p))
                                                            for p in paths))


def _held_out(source, arg, options):
    """(train, test) of a source without a test split: the test split is a seeded,
    stratified fraction of its training images."""
    everything = _read(source, arg, "train", options)
    fraction, seed = options.held_out_fraction, options.held_out_seed
    train, test = held_out_split(everything, fraction, seed)
    if not len(train) or not len(test):
        raise DataError(f"{everything.info.name}: {len(everything)} images are too few "
                        f"to hold out a test fraction of {fraction:g}; add images or "
                        "give a test split of its own.")
    note = (f"test split held out: {fraction:g} of each class of the source's "
            f"{len(everything)} images (split_seed {seed}); the training split is the "
            "rest")
    return train.with_note(note), test.with_note(note, split="test")
