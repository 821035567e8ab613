"""`tfds:NAME` or `tfds:NAME/CONFIG`: a tensorflow-datasets image classification
dataset, i.e. one with an image feature and a class-label feature (its supervised
keys, when it declares them). Shape and class names come from its metadata.

tfds reads an already prepared copy, builds one from the archives in `manual_dir`, or
downloads. Offline with none of these, it would retry the network for minutes; tfaug
probes the download hosts first and fails in seconds with the options.
"""

import os
import socket
from urllib.parse import urlparse

import numpy as np

from tfaug.data import convert
from tfaug.data.labeled import DatasetInfo, LabeledImages
from tfaug.data.options import SourceOptions
from tfaug.errors import DataError, first_line

PROBE_TIMEOUT_S = 3.0


def reachable(host: str, port: int, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """Whether a TCP connection to host:port opens within `timeout` seconds."""
    try:
        socket.create_connection((host, port), timeout=timeout).close()
        return True
    except OSError:
        return False


def prepared_builder(name: str, options: SourceOptions, local_hint: str = "",
                     label: str = None):
    """The tfds builder of `name`, prepared (built from manual_dir or downloaded if
    need be), or a DataError within seconds when that cannot happen offline."""
    import tensorflow_datasets as tfds

    label = label or f"tfds:{name}"
    try:
        builder = tfds.builder(name, data_dir=options.tfds_data_dir)
    except ValueError as e:  # DatasetNotFoundError, an unknown config
        raise DataError(f"{label} is not a tensorflow-datasets dataset "
                        f"({first_line(e)}); tfds.list_builders() "
                        "lists them.") from None
    if builder.is_prepared():
        return builder
    if options.manual_dir is not None:
        if not os.path.isdir(options.manual_dir):
            raise DataError(f"manual_dir {options.manual_dir} does not exist.")
        builder.download_and_prepare(
            download_config=tfds.download.DownloadConfig(manual_dir=options.manual_dir))
        return builder
    _fail_fast_if_offline(label, builder, local_hint)
    builder.download_and_prepare()
    return builder


def _fail_fast_if_offline(label, builder, local_hint) -> None:
    urls = list(builder.url_infos or {}) or ["https://storage.googleapis.com"]
    hosts = {(u.hostname, u.port or (443 if u.scheme == "https" else 80))
             for u in map(urlparse, urls)}
    unreachable = sorted(h for h, p in hosts if not reachable(h, p))
    if unreachable:
        raise DataError(
            f"{label} is not available offline: tensorflow-datasets has not prepared "
            f"it in {builder.data_dir} and {', '.join(unreachable)} cannot be "
            f"reached. Options:\n{local_hint}"
            f"  - place the files tfds downloads "
            f"({', '.join(os.path.basename(u) for u in urls)}) in a directory and pass "
            "manual_dir (--manual_dir);\n"
            "  - prepare it with tfds on a machine with network and pass its data "
            "directory (--tfds_data_dir).")


def features(builder, label: str):
    """(image key, label key) of a classification dataset, or a clear error."""
    import tensorflow_datasets as tfds

    feats = dict(builder.info.features.items())
    kinds = {k: type(f) for k, f in feats.items()}
    keys = builder.info.supervised_keys
    if (isinstance(keys, tuple) and len(keys) == 2 and all(isinstance(k, str)
                                                           for k in keys)
            and isinstance(feats.get(keys[0]), tfds.features.Image)
            and isinstance(feats.get(keys[1]), tfds.features.ClassLabel)):
        return keys
    images = [k for k, f in feats.items() if isinstance(f, tfds.features.Image)]
    labels = [k for k, f in feats.items() if isinstance(f, tfds.features.ClassLabel)]
    if len(images) != 1 or len(labels) != 1:
        raise DataError(
            f"{label} is not an image classification dataset tfaug can read: it needs "
            f"one image and one class-label feature, and has "
            f"{', '.join(f'{k} ({v.__name__})' for k, v in kinds.items())}.")
    return images[0], labels[0]


def has_split(name: str, split: str, options: SourceOptions) -> bool:
    return split in prepared_builder(name, options).info.splits


def read(name: str, split: str, options: SourceOptions, label: str = None,
         local_hint: str = "", class_names: tuple = None) -> LabeledImages:
    """Split `split` of tfds dataset `name` in memory (reported as `label`, its
    classes named `class_names` if given, else by its metadata)."""
    import tensorflow_datasets as tfds

    label = label or f"tfds:{name}"
    builder = prepared_builder(name, options, local_hint, label)
    known = sorted(builder.info.splits.keys())
    if known and split not in known:
        raise DataError(f"{label} has no split {split!r}; it has {', '.join(known)}.")
    image_key, label_key = features(builder, label)
    stored = tuple(builder.info.features[image_key].shape)
    count = builder.info.splits[split].num_examples if known else 0
    size = options.image_size or (stored[:2] if None not in stored[:2] else None)
    if size is not None and count:
        convert.check_fits_in_memory(label, count, (*size, options.channels
                                                    or stored[-1] or 3))
    ds = builder.as_dataset(split=split).map(lambda e: (e[image_key], e[label_key]))
    if None in stored[:2]:  # images of their own sizes: one at a time
        images, labels, sizes = [], [], {}
        for image, y in tfds.as_numpy(ds):
            sizes.setdefault(image.shape[:2], len(images))
            image = convert.fit_images(image[None], options.image_size,
                                       options.channels)[0]
            images.append(image)
            labels.append(y)
        if options.image_size is None and len(sizes) > 1:
            listed = ", ".join(f"{h}x{w}" for h, w in list(sizes)[:5])
            raise DataError(f"{label}: images of {len(sizes)} sizes ({listed}, ...). "
                            "Pass --image_size=H,W to resize them all to one size.")
        images = np.stack(images) if images else np.zeros((0, *stored), np.uint8)
        labels = np.asarray(labels)
    else:  # batches rather than batch_size=-1, which aborts under tfds' mocks
        batches = list(tfds.as_numpy(ds.batch(8192)))
        images = np.concatenate([b[0] for b in batches])
        labels = np.concatenate([b[1] for b in batches])
        images = convert.fit_images(images, options.image_size, options.channels)
    names = class_names or tuple(builder.info.features[label_key].names)
    info = DatasetInfo(label, split, images.shape[1:], names, len(labels),
                       source=f"tfds:{builder.data_dir}")
    return LabeledImages(np.asarray(images, np.uint8), labels.astype(np.int64), info)
