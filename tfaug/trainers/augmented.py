"""AugmentedModel: any Keras classifier, trained on batches augmented inside its own
compiled train step (the frozen flow and, for adversarial augmentations, the live
classifier in inference mode, all in one graph), then Keras' own train step.

    model = tfaug.AugmentedModel(my_model, "standard+latent_adversarial(eps=1)",
                                 flow=tfaug.flows.load("my_flow"))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(train_ds, validation_data=val_ds, epochs=10)
    my_model.save("classifier.keras")    # the plain classifier, loadable without tfaug

An augmentation with a consistency part (`...+fixmatch(mu=7,strong=...)`) trains on
unlabelled images too: feed ({"images": labelled, "unlabelled": mu x as many
unlabelled images[, "unlabelled_latents": their cached latents]}, labels) batches
(tfaug.data.with_unlabelled); the pseudo-labels, the consistency loss and the
supervised loss share one forward pass of the classifier, inside the same step.

Batches are (images, labels) or (images, labels, sample_weight), as Keras takes them:
uint8 images are scaled to [0, 1] (in training, evaluation and prediction alike);
float images must already be in [0, 1] (anything else is a clear error at the first
batch, never a silent clip); labels are integer class ids or one-hot; any batch size,
a last partial batch included; sample_weight and class_weight work as in Keras.
"""

import contextlib
from typing import Optional

import keras
import numpy as np
import tensorflow as tf

from tfaug import checks
from tfaug.config import use_xla
from tfaug.augment import Augmentation, Examples, FreeGradients, registry
from tfaug.errors import ConfigError, DataError
from tfaug.models import ends_in_softmax

_IMAGES_RANGE, _IMAGES_FINITE = checks.IMAGES_RANGE, checks.IMAGES_FINITE


class AugmentedModel(keras.Model):
    """`model` (a keras.Model returning logits) trained on batches that pass through
    `augmentation` first: an Augmentation, or a spec such as
    "standard+latent_adversarial(eps=1)" whose latent parts use `flow` (a VAE-GAN's
    parts `vaegan`).

    The augmentation and its latent model are frozen and not tracked: neither trained
    nor saved with this model. Per-example state (an amortised attack's
    perturbations, for `num_examples` training examples, fed by index as
    ({"images", "index"}, labels)) is: non-trainable weights of this model, so
    checkpoints and tf.distribute handle it like any weight. `seed` fixes the
    augmentation's randomness: a stateless seed per (seed, replica, step), so a
    resumed run draws the same."""

    def __init__(self, model: keras.Model, augmentation, *, flow=None, vaegan=None,
                 seed: int = 0, num_examples: Optional[int] = None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(augmentation, str):
            augmentation = registry.build(augmentation, {"flow": flow, "vaegan": vaegan})
        if not isinstance(augmentation, Augmentation):
            raise ConfigError(f"augmentation must be a tfaug Augmentation or a spec such "
                              f"as 'latent_random(eps=1)', got {augmentation!r}.")
        if not isinstance(model, keras.Model):
            raise ConfigError(f"AugmentedModel wraps a keras.Model that returns logits, "
                              f"got {type(model).__name__}.")
        if ends_in_softmax(model):
            raise ConfigError("AugmentedModel trains on logits (the attacks and FixMatch's "
                              "pseudo-labels read them), but the model ends in a softmax: "
                              "drop that activation, compile with a from_logits=True "
                              "loss, and add keras.layers.Softmax() after training "
                              "for probabilities.")
        self.classifier = model
        object.__setattr__(self, "augmentation", augmentation)  # untracked
        for latent in augmentation.latent_models():
            latent.trainable = False
        self.seed, self.num_examples = seed, num_examples
        augmentation.build_state(num_examples, self._state_variable)
        if augmentation.consistency is not None:
            if augmentation.uses_training_gradient:
                raise ConfigError(f"{augmentation!r}: free adversarial training and a "
                                  "consistency part do not combine; drop free=true.")
            self.pseudo_labels = keras.metrics.Mean(name="pseudo_labels")
            self.consistency_loss = keras.metrics.Mean(name="consistency_loss")

    def _state_variable(self, name, shape):
        if self.num_examples is None:
            raise ConfigError(f"{self.augmentation!r} keeps state per training example: "
                              "pass num_examples (the training set's size) to "
                              "AugmentedModel, and feed ({'images', 'index'}, labels).")
        return self.add_weight(shape=shape, initializer="zeros", trainable=False,
                               name=name, aggregation="only_first_replica")

    # -- inference ------------------------------------------------------------------
    def call(self, x, training=False):
        if isinstance(x, dict):  # a training batch's features (Keras builds on one)
            x = x["images"]
        return self.classifier(self._unit_images(x), training=training)

    def _unit_images(self, x):
        """float32 images in [0, 1]: uint8 scaled; other integers refused; floats
        checked in the graph when it is not XLA-compiled (XLA drops asserts; the
        datasets fit, evaluate and predict are given are checked before it)."""
        x = checks.as_unit_float(x)
        if not getattr(self, "jit_compile", False):
            tf.debugging.assert_all_finite(x, _IMAGES_FINITE)
            tf.debugging.assert_greater_equal(tf.reduce_min(x), 0.0, _IMAGES_RANGE)
            tf.debugging.assert_less_equal(tf.reduce_max(x), 1.0, _IMAGES_RANGE)
        return x

    # -- training -------------------------------------------------------------------
    def step_seed(self):
        """Stateless seed from (seed, replica, step): a resumed run draws the same."""
        replica = tf.distribute.get_replica_context()
        rid = replica.replica_id_in_sync_group if replica is not None else 0
        return tf.cast(tf.stack([self.seed * 1009 + tf.cast(rid, tf.int64),
                                 tf.cast(self.optimizer.iterations, tf.int64)]),
                       tf.int32)

    def augment(self, x, y, free: FreeGradients = None):
        """(augmented images, augmented one-hot labels) of one batch. With `free`, the
        images stay differentiable w.r.t. the perturbations it tracks."""
        examples = Examples(free=free)
        if isinstance(x, dict):
            examples = Examples(x.get("index"), x.get("latents"), free)
            x = x["images"]
        x = self._unit_images(x)
        self.augmentation.check_image_shape(tuple(x.shape[1:]))
        x, y = self.augmentation(x, y, self.classifier, training=True,
                                 seed=self.step_seed(), examples=examples)
        return (x if free else tf.stop_gradient(x)), tf.stop_gradient(y)

    def train_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if sample_weight is not None and self.augmentation.grows_batch:
            raise ConfigError(f"{self.augmentation!r} adds copies to the batch, which "
                              "the sample weights do not cover: train without sample "
                              "weights, or with copies=1.")
        if self.augmentation.consistency is not None:
            return self._consistency_train_step(x, y, sample_weight)
        if self.augmentation.uses_training_gradient:
            return self._free_train_step(x, y, sample_weight)
        images, labels = self._augmented(x, y)
        return super().train_step(
            keras.utils.pack_x_y_sample_weight(images, labels, sample_weight))

    def _augmented(self, x, y, free=None):
        """(augmented images, the labels for the loss: y as given when the
        augmentation kept the labels, else its one-hot labels)."""
        one_hot, sparse = self._one_hot(x, y)
        images, labels = self.augment(x, one_hot, free)
        if sparse and not self.augmentation.mixes_labels:
            return images, y
        if sparse:
            self._check_soft_labels_loss()
        return images, labels

    def _free_train_step(self, x, y, sample_weight):
        """Keras' train step, with the gradients of the perturbations the augmentation
        tracks taken in the same backward pass as the weights' (FreeGradients); their
        state is written before the gradients are applied, so replicas run their
        collectives in one order. Mirrors keras' TensorFlowTrainer.train_step."""
        with tf.GradientTape() as tape:
            free = FreeGradients(tape)
            images, labels = self._augmented(x, y, free)
            y_pred = self(images, training=True)
            loss = self._loss_for_optimizer(self._compute_loss(
                x=images, y=labels, y_pred=y_pred, sample_weight=sample_weight,
                training=True), tf.shape(images)[0])
        weights = self.trainable_weights
        gradients = tape.gradient(loss, [*weights, *free.perturbations])
        with tf.control_dependencies(free.apply(gradients[len(weights):])):
            gradients = [None if g is None else tf.identity(g)
                         for g in gradients[:len(weights)]]
        self.optimizer.apply_gradients(zip(gradients, weights))
        return self.compute_metrics(images, labels, y_pred, sample_weight=sample_weight)

    def _loss_for_optimizer(self, loss, batch_size):
        """`loss` (scaled for distribution) recorded in the loss tracker and scaled for
        the optimizer, as Keras' train step does."""
        from keras.src.losses import loss as loss_module
        self._loss_tracker.update_state(loss_module.unscale_loss_for_distribution(loss),
                                        sample_weight=batch_size)
        return self.optimizer.scale_loss(loss)

    def _consistency_train_step(self, x, y, sample_weight):
        """Keras' train step over one forward pass of the labelled batch (augmented)
        and the unlabelled batch's weak and strong views; the loss adds the
        consistency part's loss on those views (scaled across replicas like the
        supervised one), so each replica's share averages to the global mean."""
        from keras.src.losses import loss as loss_module
        fixmatch = self.augmentation.consistency
        if not isinstance(x, dict) or "unlabelled" not in x:
            raise ConfigError(f"{fixmatch!r} trains on unlabelled images too: feed "
                              "({'images': labelled, 'unlabelled': unlabelled}, labels) "
                              "batches (the tfaug trainers do, from --unlabelled or "
                              "the training split's unused images).")
        images, labels = self._augmented(x, y)
        unlabelled = self._unit_images(x["unlabelled"])
        weak, strong = fixmatch.views(
            unlabelled, self.classifier,
            tf.random.experimental.stateless_fold_in(self.step_seed(), 1),
            x.get("unlabelled_latents"))
        n, m = tf.shape(images)[0], tf.shape(weak)[0]
        with tf.GradientTape() as tape:
            logits = self.classifier(tf.concat([images, weak, strong], 0), training=True)
            y_pred = logits[:n]
            loss = self._compute_loss(x=images, y=labels, y_pred=y_pred,
                                      sample_weight=sample_weight, training=True)
            unlabelled_loss, passed = fixmatch.loss(logits[n:n + m], logits[n + m:])
            loss = loss + loss_module.scale_loss_for_distribution(
                fixmatch.weight * unlabelled_loss)
            loss = self._loss_for_optimizer(loss, n)
        weights = self.trainable_weights
        self.optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights))
        self.pseudo_labels.update_state(passed, sample_weight=m)
        self.consistency_loss.update_state(unlabelled_loss, sample_weight=m)
        return self.compute_metrics(images, labels, y_pred, sample_weight=sample_weight)

    def test_step(self, data):
        logs = super().test_step(data)
        return {k: v for k, v in logs.items()
                if k not in ("pseudo_labels", "consistency_loss")}

    def _one_hot(self, x, y):
        """(one-hot float labels, whether y held class ids)."""
        images = x["images"] if isinstance(x, dict) else x
        classes = self._num_classes(images)
        sparse = y.shape.rank == 1 or (y.shape.rank == 2 and y.shape[-1] == 1
                                       and classes != 1)
        if not sparse:
            return tf.cast(y, tf.float32), False
        ids = tf.cast(tf.reshape(y, [-1]), tf.int32)
        return tf.one_hot(ids, classes), True

    def _num_classes(self, images) -> int:
        spec = keras.KerasTensor((None, *images.shape[1:]), "float32")
        try:
            return int(self.classifier.compute_output_spec(spec).shape[-1])
        except Exception:  # noqa: BLE001 - a model Keras cannot trace symbolically
            return int(self.classifier(tf.cast(images[:1], tf.float32)).shape[-1])

    def _check_soft_labels_loss(self):
        loss = getattr(self, "loss", None)
        name = loss if isinstance(loss, str) else type(loss).__name__
        if "sparse" in str(name).lower():
            raise ConfigError(f"{self.augmentation!r} returns labels of its own (mixed "
                              f"soft labels, or those of added copies), which {name} "
                              "cannot take: compile with "
                              "keras.losses.CategoricalCrossentropy (one-hot labels).")

    # -- Keras API, with inputs checked first ---------------------------------------
    def compile(self, *args, jit_compile="auto", **kwargs):
        """keras.Model.compile; jit_compile "auto" means XLA when a GPU is visible and
        the strategy has one replica (tfaug.config.use_xla)."""
        if jit_compile == "auto":
            jit_compile = use_xla(None, self.distribute_strategy.num_replicas_in_sync)
        super().compile(*args, jit_compile=jit_compile, **kwargs)

    def fit(self, x=None, y=None, *args, **kwargs):
        if kwargs.get("validation_data") is not None:
            kwargs["validation_data"] = checked_inputs(kwargs["validation_data"])
        with clear_input_errors():
            return super().fit(checked_inputs(x), y, *args, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        with clear_input_errors():
            return super().evaluate(checked_inputs(x), y, *args, **kwargs)

    def predict(self, x, *args, **kwargs):
        with clear_input_errors():
            return super().predict(checked_inputs(x), *args, **kwargs)


def checked_inputs(x):
    """`x` with its images checked before they reach the compiled step: a
    tf.data.Dataset gets a check of each batch's images, arrays are checked now."""
    if isinstance(x, tf.data.Dataset):
        return x.map(_checked_element)
    if isinstance(x, tuple) and x and not isinstance(x[0], tf.data.Dataset):
        return (checked_inputs(x[0]), *x[1:])
    arrays = [x] if isinstance(x, np.ndarray) else [
        x.get(k) for k in ("images", "unlabelled")] if isinstance(x, dict) else []
    for images in arrays:
        if isinstance(images, np.ndarray) and not np.issubdtype(images.dtype,
                                                                np.integer):
            if not np.isfinite(images).all():
                raise DataError(f"{_IMAGES_FINITE}.")
            if images.size and not 0 <= images.min() <= images.max() <= 1:
                raise DataError(f"{_IMAGES_RANGE}; got [{images.min():g}, "
                                f"{images.max():g}].")
    return x


def _checked_element(*element):
    first = element[0]
    if isinstance(first, dict):
        first = {k: _checked_images(v) if k in ("images", "unlabelled") else v
                 for k, v in first.items()}
    else:
        first = _checked_images(first)
    return (first, *element[1:]) if len(element) > 1 else first


def _checked_images(images):
    if not images.dtype.is_floating:
        return images
    with tf.control_dependencies([
            tf.debugging.assert_all_finite(images, _IMAGES_FINITE),
            tf.debugging.assert_greater_equal(tf.reduce_min(images),
                                              tf.cast(0, images.dtype), _IMAGES_RANGE),
            tf.debugging.assert_less_equal(tf.reduce_max(images),
                                           tf.cast(1, images.dtype), _IMAGES_RANGE)]):
        return tf.identity(images)


@contextlib.contextmanager
def clear_input_errors():
    """An image check that fails inside TensorFlow becomes a one-line DataError."""
    try:
        yield
    except tf.errors.InvalidArgumentError as e:
        for message in (_IMAGES_RANGE, _IMAGES_FINITE):
            if message in str(e):
                raise DataError(f"{message} (checked on each batch before training).") \
                    from None
        raise
