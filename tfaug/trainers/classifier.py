"""Training a classifier with an augmentation applied inside its compiled train step,
from a config: the data (a low-data subset, validation and test splits), the model
wrapped in tfaug.AugmentedModel, SGD on a schedule, under a tf.distribute strategy;
Keras callbacks do resuming (BackupAndRestore), TensorBoard scalars and the
clean-vs-perturbed image grids; the report goes to report.json.
"""

import dataclasses
import functools
import os
import time
from typing import Optional, Tuple

import keras
import tensorflow as tf

import numpy as np

from tfaug import data, flows, io, models, provenance
from tfaug import config as cfglib
from tfaug.augment import bind_classes, norms, registry
from tfaug.errors import CheckpointError, ConfigError
from tfaug.optimizers import WEIGHT_DECAY_MODES, sgd
from tfaug.summaries import image_grid
from tfaug.trainers.augmented import AugmentedModel
from tfaug.trainers.backup import AtomicBackupAndRestore
from tfaug.trainers.memory import check_batch_fits, keras_activations
from tfaug.trainers.distribution import (STRATEGY_HELP, check_strategy, make_strategy,
                                         worker_dir)

field = cfglib.field


@dataclasses.dataclass(frozen=True)
class ClassifierTrainConfig(cfglib.DataSource):
    labels_per_class: Optional[int] = field(None, "Low-data regime: labelled training "
                                                  "examples per class (None: all).")
    label_fraction: Optional[float] = field(None, "Low-data regime: fraction of each "
                                                  "class (instead of labels_per_class).")
    val_per_class: int = field(100, "Validation examples per class, carved from the "
                                    "training split (the test split is only for the "
                                    "final evaluation).")
    model: str = field("small_cnn", "Classifier: " + ", ".join(models.MODELS) + ", or "
                                    "a Keras model file of your own (PATH.keras, "
                                    "returning logits): its architecture, with fresh "
                                    "weights drawn from the run's seed (see "
                                    "model_weights).")
    model_width: float = field(1.0, "Width multiplier of a built-in classifier.")
    model_weights: str = field("fresh", "fresh: initial weights drawn from the run's "
                                        "seed; saved: the weights in the model file, "
                                        "to fine-tune a trained model of yours "
                                        "(train_classifier and tune).")
    augmentation: str = field("none", "Augmentation spec: "
                                      + ", ".join(registry.NAMES) + "; each with "
                                      "optional parameters, '+'-joined and applied "
                                      "left to right, e.g. 'standard(pad=2)+"
                                      "latent_adversarial(eps=1.3,steps=1)'.")
    flow: Optional[str] = field(None, "Exported flow directory for latent "
                                      "augmentations (default: the shipped flow of the "
                                      "dataset).")
    vaegan: Optional[str] = field(None, "Exported VAE-GAN directory for vaegan_* "
                                        "augmentations (default: the shipped VAE-GAN "
                                        "of the dataset).")
    unlabelled: Optional[str] = field(None, "Unlabelled images for a consistency part "
                                            "of the augmentation (e.g. '+fixmatch(mu=7,"
                                            "strong=latent_adversarial(eps=1)+standard)'): "
                                            "a dataset (folder:PATH, npz:FILE, tfds:NAME "
                                            "or a built-in name), every training image "
                                            "of it; default: the training split without "
                                            "the run's labelled and validation images. "
                                            "Never an image the run validates or tests "
                                            "on (identical ones are dropped).")
    latent_cache: bool = field(True, "When the augmentation starts with a latent "
                                     "perturbation (e.g. latent_random+standard), "
                                     "encode the labelled training images once before "
                                     "training and feed their latents with them: the "
                                     "training step then never encodes. Likewise the "
                                     "unlabelled pool when a fixmatch strong view "
                                     "starts with one.")
    epochs: int = field(30, "Training epochs.")
    steps_per_epoch: Optional[int] = field(None, "Steps per epoch (None: one pass over "
                                                 "the labelled training data).")
    batch_size: int = field(128, "Global batch size (split across replicas).")
    lr: float = field(0.03, "Peak learning rate (SGD). 0.03 suits few labels; "
                            "the paper's ResNet-18 on all of CIFAR-10 takes 0.1 "
                            "(preset cifar10_resnet18_paper).")
    momentum: float = field(0.9, "SGD momentum.")
    nesterov: bool = field(True, "Nesterov momentum.")
    weight_decay: float = field(5e-4, "Weight decay (see weight_decay_mode).")
    weight_decay_mode: str = field("decoupled", "coupled: an L2 term in the gradient "
                                                "before momentum, as PyTorch's SGD (the "
                                                "paper's 5e-4); decoupled: Keras SGD's "
                                                "w -= lr * wd * w.")
    schedule: str = field("cosine", "Learning-rate schedule: cosine, step or constant.")
    lr_milestones: Tuple[float, ...] = field((0.3, 0.6, 0.8), "step schedule: "
                                             "fractions of training at which the "
                                             "rate drops (paper: 60/120/160 of 200).")
    lr_decay: float = field(0.2, "step schedule: factor at each milestone.")
    strategy: str = field("auto", STRATEGY_HELP)
    jit: Optional[bool] = field(None, cfglib.JIT_HELP)
    precision: str = field("float32", "Classifier computation: float32, mixed_bfloat16 "
                                      "(CPUs with bf16, TPUs) or mixed_float16 (GPUs; "
                                      "with loss scaling). Variables, the flow and the "
                                      "attack's gradients stay float32.")
    image_every: int = field(5, "Epochs between clean-vs-perturbed image grids.")
    seed: int = field(0, "Seed of the subset, data order, weights and perturbations.")

    def validate(self):
        self.validate_source()
        if self.model_weights not in ("fresh", "saved"):
            raise ConfigError(f"model_weights must be fresh or saved, got "
                              f"{self.model_weights!r}.")
        models.check(self.model, self.model_width, self.model_weights == "saved")
        for name in ("epochs", "batch_size", "image_every"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1.")
        if self.schedule not in ("cosine", "step", "constant"):
            raise ConfigError(f"schedule must be cosine, step or constant, got "
                              f"{self.schedule!r}.")
        check_strategy(self.strategy)
        if self.precision not in models.PRECISIONS:
            raise ConfigError(f"precision must be one of {', '.join(models.PRECISIONS)}, "
                              f"got {self.precision!r}.")
        if self.lr <= 0:
            raise ConfigError("lr must be > 0.")
        if self.labels_per_class is not None and self.labels_per_class < 1:
            raise ConfigError(f"labels_per_class must be >= 1 (got "
                              f"{self.labels_per_class}); leave it unset for the whole "
                              "training set.")
        if self.label_fraction is not None and not 0 < self.label_fraction <= 1:
            raise ConfigError(f"label_fraction must be in (0, 1] (got "
                              f"{self.label_fraction}).")
        if self.weight_decay < 0 or self.weight_decay_mode not in WEIGHT_DECAY_MODES:
            raise ConfigError(f"weight_decay must be >= 0 and weight_decay_mode one of "
                              f"{', '.join(WEIGHT_DECAY_MODES)}.")
        registry.validate(self.augmentation)
        if self.unlabelled is not None:
            try:
                data.parse(self.unlabelled)
            except data.DataError as e:
                raise ConfigError(f"unlabelled: {e}") from None
            if self.runs_augmentation and registry.consistency(
                    self.augmentation) is None:
                raise ConfigError(f"unlabelled={self.unlabelled!r} feeds a consistency "
                                  f"part, which {self.augmentation!r} has not: add "
                                  "one, e.g. '+fixmatch(mu=7)', or drop unlabelled.")
        return self

    runs_augmentation = True  # False where runs take other specs (a grid's methods)

    @staticmethod
    def unknown_key_hint(keys) -> str:
        if set(keys) & MOVED_TO_SPEC:
            return (" Augmentation parameters belong to the augmentation spec now, e.g. "
                    "augmentation: \"standard(pad=2)+latent_adversarial(eps=1,alpha=0.5,"
                    "steps=3)\".")
        return ""


# Flat augmentation fields of earlier versions, now parameters in the spec.
MOVED_TO_SPEC = {"eps", "alpha", "attack_steps", "norm", "random_start", "away", "ratio",
                 "pgd_eps", "pgd_alpha", "pgd_norm", "mixup_alpha", "cutout_size", "pad"}


def make_schedule(config: ClassifierTrainConfig, total_steps: int):
    if config.schedule == "cosine":
        return keras.optimizers.schedules.CosineDecay(config.lr, total_steps)
    if config.schedule == "step":
        bounds = [int(round(f * total_steps)) for f in config.lr_milestones]
        values = [config.lr * config.lr_decay ** i for i in range(len(bounds) + 1)]
        return keras.optimizers.schedules.PiecewiseConstantDecay(bounds, values)
    return config.lr


class PerturbationImages(keras.callbacks.Callback):
    """Every `every` epochs: a TensorBoard grid of clean images (top) and their
    augmented batch below them, row by row in its order (with `copies`, each copy of
    the perturbed images, then the clean rest), for fixed images and a fixed seed.
    With a consistency part, also its weak and strong views of the same images and
    each view's mean L2 distance from them (view_distance/weak, /strong): a strong
    view nearer its images than the weak one only confirms the classifier's
    predictions."""

    def __init__(self, log_dir, images, labels, every):
        super().__init__()
        self.writer = tf.summary.create_file_writer(os.path.join(log_dir, "images"))
        self.images, self.labels, self.every = images, labels, every

    def on_epoch_end(self, epoch, logs=None):
        if epoch % self.every:
            return
        model, seed = self.model, tf.constant([7, epoch])
        # these images have no per-example state: the stateless twin
        out, _ = model.augmentation.stateless()(self.images, self.labels,
                                                model.classifier, training=True,
                                                seed=seed)
        n = len(self.images)
        blank = tf.zeros((-len(out) % n, *out.shape[1:]), out.dtype)
        grid = tf.concat([self.images, out, blank], 0)
        consistency = model.augmentation.consistency
        with self.writer.as_default(step=epoch):
            tf.summary.image("clean (top) vs augmented (below)",
                             image_grid(grid, len(grid) // n)[None])
            if consistency is not None:
                views = consistency.views(self.images, model.classifier, seed)
                tf.summary.image("clean, weak view, strong view (rows)", image_grid(
                    tf.concat([self.images, *views], 0), 3)[None])
                for name, view in zip(("weak", "strong"), views):
                    tf.summary.scalar(f"view_distance/{name}",
                                      tf.reduce_mean(norms.l2_norm(view - self.images)))
        self.writer.flush()


def load_latent_models(config: ClassifierTrainConfig) -> dict:
    """The latent models the augmentation needs: {"flow": Glow, "vaegan": VAEGAN},
    from --flow/--vaegan, else the ones shipped for the dataset."""
    from tfaug.models import vaegan
    loaders = {"flow": (config.flow, flows.load, flows.pretrained,
                        f"bin/train_flow.py --dataset={config.dataset} --export_dir=DIR "
                        "and pass --flow=DIR"),
               "vaegan": (config.vaegan, vaegan.load, vaegan.pretrained,
                          f"bin/train_vaegan.py --dataset={config.dataset} "
                          "--export_dir=DIR and pass --vaegan=DIR")}
    models = {}
    for kind in sorted(registry.latent_models_needed(config.augmentation)):
        path, load, shipped, how = loaders[kind]
        if path:
            models[kind] = load(path)
            continue
        try:
            models[kind] = shipped(config.dataset)
        except CheckpointError:
            raise ConfigError(f"No {kind} for {config.dataset}: none is shipped. Train "
                              f"one with {how}.") from None
    return models


@dataclasses.dataclass
class Splits:
    train: data.LabeledImages
    val: data.LabeledImages
    test: data.LabeledImages
    unlabelled: Optional[data.LabeledImages] = None  # for a consistency part


def _check_class_sizes(full: data.LabeledImages, config: ClassifierTrainConfig):
    """Every class must hold its validation images and (if set) its labelled budget;
    the error names the smallest class and the values that fit."""
    counts = np.bincount(full.labels, minlength=full.info.num_classes)
    need = config.val_per_class + (config.labels_per_class or 1)
    smallest = int(np.argmin(counts))
    if counts[smallest] >= need:
        return
    have = int(counts[smallest])
    budget = (f" + labels_per_class={config.labels_per_class}"
              if config.labels_per_class else " + at least 1 to train on")
    fit = have - (config.labels_per_class or 1)
    raise ConfigError(
        f"class {smallest} ({full.info.class_names[smallest]!r}) has {have} training "
        f"images, fewer than val_per_class={config.val_per_class}{budget} = {need}. "
        + (f"Lower val_per_class to at most {fit} (--val_per_class={fit}) or "
           "labels_per_class, or add images to that class."
           if fit >= 1 else "Add images to that class or lower labels_per_class."))


def load_splits(config: ClassifierTrainConfig, full=None, test=None) -> Splits:
    """The config's labelled training subset, validation split and test split, and
    for an augmentation with a consistency part its unlabelled pool; `full` and
    `test` (LabeledImages) are loaded when not given."""
    full = config.load("train") if full is None else full
    full.require_labels()
    _check_class_sizes(full, config)
    train_at, val_at = data.split_indices(full.labels, full.info.num_classes,
                                          seed=config.seed,
                                          per_class=config.labels_per_class,
                                          fraction=config.label_fraction,
                                          val_per_class=config.val_per_class)
    splits = Splits(full.take(train_at), full.take(val_at),
                    config.load("test") if test is None else test)
    if registry.consistency(config.augmentation) is not None:
        pool = (data.load_pool(config.unlabelled, **config.source_options())
                if config.unlabelled else data.split_pool(full, train_at, val_at))
        pool, dropped = data.without_duplicates(pool, splits.train, splits.val,
                                                splits.test)
        if dropped:
            pool = pool.with_note(f"{pool.info.note}; {dropped:,} images identical to "
                                  "labelled, validation or test images dropped")
        data.check_pool(pool, full.info.image_shape)
        splits.unlabelled = pool
    return splits


def _one_hot(ds, k):
    return ds.map(lambda x, y: (x, tf.one_hot(y, k)))


def compile_classifier(config: ClassifierTrainConfig, latent_models: dict, info,
                       total_steps: int, num_examples: int) -> AugmentedModel:
    """The config's classifier wrapped with its augmentation (over the frozen
    `latent_models`; per-example state for `num_examples` training examples) and
    compiled with SGD on the config's schedule; call under the strategy's scope."""
    for model in latent_models.values():
        model.trainable = False
    aug = registry.build(config.augmentation, latent_models, info.image_shape)
    classifier = models.with_precision(
        models.build(config.model, info.image_shape, info.num_classes,
                     width=config.model_width,
                     saved_weights=config.model_weights == "saved"), config.precision)
    model = AugmentedModel(classifier, aug, seed=config.seed,
                                num_examples=num_examples)
    model.build((None, *info.image_shape))
    optimizer = sgd(make_schedule(config, total_steps), config.momentum,
                    config.nesterov, config.weight_decay, config.weight_decay_mode)
    if config.precision == "mixed_float16":  # float16 gradients underflow unscaled
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.CategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
        jit_compile=cfglib.use_xla(config.jit))
    # Built now, so weights loaded into a fresh model (Keras Tuner's Hyperband rounds)
    # bring their optimizer state and step count, and the schedule continues.
    model.optimizer.build(model.trainable_variables)
    return model


def step_activations(config: ClassifierTrainConfig, model: AugmentedModel,
                     latent_models: dict) -> dict:
    """What one training step keeps per example: {name: (all, largest) floats}."""
    parts = {config.model: keras_activations(model.classifier)}
    for kind, latent in latent_models.items():
        per_image = getattr(getattr(latent, "config", None), "activations_per_image", None)
        if per_image is not None:
            parts[f"the {kind}"] = per_image()
    return parts


def images_per_step(config: ClassifierTrainConfig) -> int:
    """Images one step passes through the classifier: the batch, and with a
    consistency part the weak and strong views of mu unlabelled images per labelled
    one."""
    fixmatch = registry.consistency(config.augmentation)
    return config.batch_size * (1 + (2 * fixmatch.params["mu"] if fixmatch else 0))


def steps_per_epoch(config: ClassifierTrainConfig, train_size: int) -> int:
    return config.steps_per_epoch or max(-(-train_size // config.batch_size), 1)


def cached_latent_model(config: ClassifierTrainConfig, latent_models: dict,
                        spec: Optional[str] = None):
    """The latent model whose latents of its clean input images `spec` (default: the
    config's augmentation) reads first, so they can be cached; or None."""
    if not config.latent_cache:
        return None
    first = registry.resolve(spec or config.augmentation)[0].name
    return latent_models.get(registry.LATENT_MODEL.get(first))


def cached_pool_model(config: ClassifierTrainConfig, latent_models: dict):
    """The latent model whose latents of the unlabelled images the strong view of the
    consistency part reads first (a class-specific one needs labels: none), or None."""
    fixmatch = registry.consistency(config.augmentation)
    model = fixmatch and cached_latent_model(config, latent_models,
                                             fixmatch.params["strong"])
    return None if model is None or hasattr(model, "for_classes") else model


@functools.lru_cache(maxsize=8)
def _batch_encoder(latent_model):
    """latent_model's encode, compiled once for the process (and once more for
    batches of any size), not again for every run or trial that caches latents."""
    return tf.function(lambda x, y: bind_classes(latent_model, y).encode(
        x, validate=False), reduce_retracing=True)


def encode_all(latent_model, images: data.LabeledImages,
               batch_size: int = 256) -> np.ndarray:
    """The latents of every image (class-specific models use each image's label)."""
    encode = _batch_encoder(latent_model)
    return np.concatenate([encode(x, y).numpy() for x, y in
                           data.eval_pipeline(images, batch_size)]) if len(images) \
        else np.zeros((0, *latent_model.latent_shape), np.float32)


def fit_datasets(config: ClassifierTrainConfig, splits: Splits, latent_models: dict,
                 start_batch: int = 0):
    """(training, validation) datasets of one-hot batches for Model.fit. Training
    batches carry each example's index and, when the augmentation's latents can be
    cached, its latents (encoded here, once), and for a consistency part a batch of
    mu x batch_size unlabelled images (with their latents, likewise cached when the
    strong view starts with a latent perturbation); they repeat (fit bounds them by
    steps_per_epoch) and begin at batch `start_batch` of the seed's stream (a resumed
    run's position). Validation is None when empty."""
    k = splits.train.info.num_classes
    extras = {"index": np.arange(len(splits.train), dtype=np.int64)}
    cached = cached_latent_model(config, latent_models)
    if cached is not None:
        extras["latents"] = encode_all(cached, splits.train)
    train_ds = _one_hot(data.train_pipeline(splits.train, config.batch_size,
                                            seed=config.seed, drop_remainder=True,
                                            repeat=True, extras=extras), k)
    fixmatch = registry.consistency(config.augmentation)
    if fixmatch is not None:
        if splits.unlabelled is None:
            raise ConfigError(f"{config.augmentation!r} trains on unlabelled images: "
                              "give the splits an unlabelled pool (load_splits builds "
                              "it).")
        pool_model = cached_pool_model(config, latent_models)
        train_ds = data.with_unlabelled(train_ds, data.unlabelled_pipeline(
            splits.unlabelled, fixmatch.params["mu"] * config.batch_size,
            seed=config.seed, latents=None if pool_model is None else encode_all(
                pool_model, splits.unlabelled)))
    if start_batch:  # both streams: a resumed run sees the batches it would have
        train_ds = train_ds.skip(start_batch)
    val_ds = _one_hot(data.eval_pipeline(splits.val, 256), k) if len(splits.val) else None
    return train_ds, val_ds


class EpochSeconds(keras.callbacks.Callback):
    """Records each finished epoch's duration, the part of it spent on validation and
    the process's CPU seconds in it, in `path` (JSON, atomic), across resumes: an
    interrupted epoch is counted once, when it is run again. CPU seconds (every
    thread of the process) measure the work whatever else shares the cores."""

    def __init__(self, path):
        super().__init__()
        self.path = path
        saved = io.read_json(path, default={})
        if saved and "epochs" not in saved:  # written before validation was timed
            saved = {"epochs": saved, "validation": {}}
        self.seconds = saved.get("epochs", {})
        self.validation = saved.get("validation", {})
        self.cpu = saved.get("cpu", {})

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch, self._validating = str(epoch), 0.0
        self._start, self._cpu_start = time.time(), time.process_time()

    def on_test_begin(self, logs=None):
        self._test_start = time.time()

    def on_test_end(self, logs=None):
        self._validating += time.time() - self._test_start

    def on_epoch_end(self, epoch, logs=None):
        self.seconds[self._epoch] = time.time() - self._start
        self.validation[self._epoch] = self._validating
        self.cpu[self._epoch] = time.process_time() - self._cpu_start
        io.write_json(self.path, {"epochs": self.seconds, "validation": self.validation,
                                  "cpu": self.cpu})

    @property
    def total(self) -> float:
        return float(sum(self.seconds.values()))

    @property
    def cpu_total(self) -> float:
        """CPU seconds of the finished epochs; nan if an epoch was timed before CPU
        time was recorded."""
        if set(self.seconds) - set(self.cpu):
            return float("nan")
        return float(sum(self.cpu.values()))

    def step_seconds(self, steps_per_epoch: int) -> float:
        """Seconds per optimizer step once compiled: the median over epochs after the
        first (which traces and compiles) of the epoch's time less its validation."""
        train = [self.seconds[e] - self.validation[e] for e in self.validation
                 if e != "0" and e in self.seconds]
        return float(np.median(train)) / steps_per_epoch if train else float("nan")


def describe_splits(config: ClassifierTrainConfig, splits: Splits) -> str:
    """What a run trains, validates and tests on, in a line."""
    note = splits.test.info.note
    pool = splits.unlabelled
    return (f"{config.dataset}: training on {len(splits.train):,} labelled images"
            + (f" and {len(pool):,} unlabelled ones ({pool.info.note})" if pool else "")
            + f", {len(splits.val):,} held out for validation (val_per_class="
            f"{config.val_per_class}), {len(splits.test):,} test images"
            + (f" ({note})" if note else ""))


def divergence(loss: float, num_classes: int, lr: float,
               which: str = "validation") -> Optional[str]:
    """A sentence saying the run diverged when its final `which` loss (validation, or
    training without a validation split) is not finite or over ten times that of a
    uniform guess (ln K nats); else None."""
    guess = float(np.log(max(num_classes, 2)))
    if loss is None or (np.isfinite(loss) and loss <= 10 * guess):
        return None
    return (f"training diverged: the {which} loss is {loss:.4g}, over ten times "
            f"that of guessing uniformly ({guess:.2f} for {num_classes} classes), so "
            f"its accuracies are no result. Lower lr (now {lr:g}; e.g. "
            f"--lr={lr / 3:.2g}) and train again in a new out_dir.")


def train_classifier(config: ClassifierTrainConfig, out_dir: str, splits: Splits = None,
                     strategy: tf.distribute.Strategy = None, verbose: int = 1,
                     callbacks=(), log=None, evaluate_test: bool = True) -> dict:
    """Trains, evaluates on validation and test, writes report.json; returns it.
    Rerunning an interrupted run with the same `out_dir` resumes it (at the epoch
    it reached, with its optimizer state and per-example augmentation state). `log`,
    if given, is called with what the run trains and tests on and where its
    TensorBoard logs go. With evaluate_test=False the test split is never evaluated
    (test_accuracy None): a run whose results choose a setting."""
    started = time.time()
    io.check_out_dir(out_dir)
    strategy = strategy or make_strategy(config.strategy)
    with strategy.scope():
        latent_models = load_latent_models(config)  # fails before the data loads
    splits = splits or load_splits(config)
    if log:
        log(describe_splits(config, splits))
    info = splits.train.info
    k = info.num_classes
    if not len(splits.train):
        raise ConfigError("The labelled training split is empty: set labels_per_class "
                          "or label_fraction above 0.")
    keras.utils.set_random_seed(config.seed)
    steps = steps_per_epoch(config, len(splits.train))
    with strategy.scope():
        model = compile_classifier(config, latent_models, info, steps * config.epochs,
                                   len(splits.train))
    check_batch_fits(images_per_step(config),
                     step_activations(config, model, latent_models))
    # Recorded once the inputs are known good: a failed start leaves nothing behind.
    io.prepare_out_dir(out_dir, config,
                       may_change=("image_every", "data_dir", "strategy", "jit"))
    inputs = provenance.of_splits(config, splits)
    provenance.check(out_dir, inputs, "Resume it with the inputs it began with, or "
                     "train on these in another --out_dir.")
    out_dir = worker_dir(out_dir, strategy, from_chief="backup")
    classifier, aug = model.classifier, model.augmentation
    # Restored before the data are built: the optimizer's step count is the position
    # in the batch stream, so a resumed run sees the batches it would have seen.
    backup = AtomicBackupAndRestore(os.path.join(out_dir, "backup"), steps,
                                    double_checkpoint=True)
    backup.set_model(model)
    backup.restore()
    position = int(model.optimizer.iterations.numpy())
    cache_start, cache_cpu_start = time.time(), time.process_time()
    train_ds, val_ds = fit_datasets(config, splits, latent_models, start_batch=position)
    cache_seconds = time.time() - cache_start
    cache_cpu_seconds = time.process_time() - cache_cpu_start
    grid = splits.val if len(splits.val) >= 8 else splits.train
    grid_x = data.to_unit_float(grid.images[:8])
    grid_y = tf.one_hot(grid.labels[:8], k)
    log_dir = os.path.join(out_dir, "tensorboard")
    if log:
        log(f"TensorBoard: {log_dir}")
    epoch_seconds = EpochSeconds(os.path.join(out_dir, "epoch_seconds.json"))
    callbacks = [
        backup,
        epoch_seconds,
        keras.callbacks.TensorBoard(log_dir),
        PerturbationImages(log_dir, grid_x, grid_y, config.image_every),
        *callbacks,
    ]
    fit_start = time.time()
    history = model.fit(train_ds, epochs=config.epochs, steps_per_epoch=steps,
                        validation_data=val_ds, callbacks=callbacks, verbose=verbose,
                        shuffle=False)  # train_ds is already shuffled by tf.data
    fit_time = time.time() - fit_start
    test_metrics = model.evaluate(_one_hot(data.eval_pipeline(splits.test, 256), k),
                                  verbose=0, return_dict=True) if evaluate_test else {}
    val_metrics = model.evaluate(val_ds, verbose=0, return_dict=True) if val_ds else {}
    io.save_weights_atomic(classifier, os.path.join(out_dir, "classifier.weights.h5"))
    io.save_model_atomic(classifier, os.path.join(out_dir, "classifier.keras"))
    train_loss = history.history.get("loss", [None])[-1]
    diverged = (divergence(val_metrics["loss"], k, config.lr) if val_metrics else
                divergence(train_loss, k, config.lr, "final training"))
    if diverged and log:
        log(f"warning: {diverged}")
    epochs_run = len(history.epoch)
    report = {
        "config": cfglib.to_dict(config), "seed": config.seed, "versions": io.versions(),
        "augmentation": repr(aug), "strategy": type(strategy).__name__,
        "replicas": strategy.num_replicas_in_sync,
        "sizes": {"train": len(splits.train), "val": len(splits.val),
                  "test": len(splits.test),
                  **({"unlabelled": len(splits.unlabelled)} if splits.unlabelled
                     else {})},
        "data": {"train": splits.train.info.describe(),
                 "test": splits.test.info.describe()},
        "inputs": inputs,
        "val_accuracy": val_metrics.get("accuracy"),
        "val_loss": val_metrics.get("loss"), "diverged": diverged,
        "test_accuracy": test_metrics.get("accuracy"),
        "test_loss": test_metrics.get("loss"),
        "history": {k2: [float(v) for v in vals] for k2, vals in history.history.items()},
        "epochs_this_run": epochs_run,
        "optimizer_steps": int(model.optimizer.iterations.numpy()),
        "latents_cached": cached_latent_model(config, latent_models) is not None,
        "unlabelled_latents_cached": cached_pool_model(config, latent_models)
        is not None,
        "cache_seconds": cache_seconds,
        "cache_cpu_seconds": cache_cpu_seconds,
        "train_seconds": epoch_seconds.total,
        "train_cpu_seconds": epoch_seconds.cpu_total,
        "step_seconds": epoch_seconds.step_seconds(steps),
        "train_images_per_second": epochs_run * steps * config.batch_size / fit_time,
        "wall_time_s": time.time() - started,
    }
    io.write_json(os.path.join(out_dir, "report.json"), report)
    return report
