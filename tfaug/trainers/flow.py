"""Maximum-likelihood training of a Glow: one compiled step, checkpoints, TensorBoard.

The step (one compiled graph) draws dequantisation noise from (seed, step),
computes bits/dim and gradients, clips them by global norm, and applies them only if
loss and gradients are finite; a non-finite step is skipped, counted and reported, and
`max_bad_steps` in a row stop training with a clear error. Checkpoints (Glow,
optimizer, step, data position) go through tf.train.CheckpointManager, so a killed run
resumes at the same step with the same optimizer state and the same next batch.

Under a tf.distribute strategy (several workers, or several local GPUs) every replica
takes its slice of the same global batch and its noise, gradients are averaged across
replicas before clipping, and the chief alone writes checkpoints, TensorBoard and
evaluations: N replicas train as one process with the same global batch would.
"""

import dataclasses
import math
import os
import time
from typing import Optional, Tuple

import keras
import numpy as np
import tensorflow as tf

from tfaug import config as cfglib
from tfaug import data as datalib
from tfaug import io, provenance
from tfaug.errors import TfaugError, first_line
from tfaug.flows.glow import Glow, GlowConfig, max_levels
from tfaug.flows.preprocess import dequantize
from tfaug.flows.schedule import LinearWarmup
from tfaug.trainers.distribution import (STRATEGY_HELP, check_strategy, is_chief,
                                         make_strategy, worker_dir)
from tfaug.summaries import image_grid, read_scalars
from tfaug.trainers.memory import check_batch_fits

field = cfglib.field


class TrainingError(TfaugError):
    """Training cannot go on (diverged, or a checkpoint is unusable)."""


@dataclasses.dataclass(frozen=True)
class FlowTrainConfig(cfglib.DataSource):
    levels: int = field(2, "Glow levels L (image sides must divide by 2**L).")
    steps_per_level: int = field(8, "Flow steps K per level.")
    width: int = field(64, "Hidden channels of the coupling networks.")
    coupling: str = field("sigmoid", "Coupling: sigmoid (openai), tanh (reference "
                                     "code) or additive.")
    conv: str = field("lu", "Invertible 1x1 convolution: lu or plain.")
    batch_size: int = field(64, "Training batch size.")
    optimizer: str = field("adam", "adam or adamax.")
    lr: float = field(1e-3, "Peak learning rate.")
    warmup_steps: int = field(500, "Linear learning-rate warm-up steps.")
    grad_clip: float = field(1.0, "Clip gradients to this global norm (0: off).")
    train_steps: int = field(2000, "Total optimisation steps.")
    log_every: int = field(50, "Steps between TensorBoard scalars.")
    eval_every: int = field(500, "Steps between test bits/dim and image grids.")
    eval_examples: int = field(2000, "Test images used by periodic evaluations "
                                     "(the final one uses the whole split).")
    checkpoint_every: int = field(500, "Steps between checkpoints.")
    max_bad_steps: int = field(20, "Stop after this many non-finite steps in a row.")
    temperatures: Tuple[float, ...] = field((0.0, 0.5, 0.7, 1.0),
                                            "Sampling temperatures shown.")
    strategy: str = field("auto", STRATEGY_HELP)
    jit: Optional[bool] = field(None, cfglib.JIT_HELP)
    seed: int = field(0, "Seed of data order, dequantisation noise and init.")

    def validate(self):
        if self.optimizer not in ("adam", "adamax"):
            raise cfglib.ConfigError(f"optimizer must be adam or adamax, got "
                                     f"{self.optimizer!r}.")
        for name in ("batch_size", "train_steps", "log_every", "eval_every",
                     "checkpoint_every", "max_bad_steps", "eval_examples"):
            if getattr(self, name) < 1:
                raise cfglib.ConfigError(f"{name} must be >= 1.")
        check_strategy(self.strategy)
        if self.lr <= 0 or self.grad_clip < 0 or self.warmup_steps < 0:
            raise cfglib.ConfigError("lr must be > 0; grad_clip, warmup_steps >= 0.")
        self.validate_source()
        return self

    def glow_config(self, image_shape) -> GlowConfig:
        return GlowConfig(tuple(image_shape), self.levels, self.steps_per_level,
                          self.width, self.coupling, self.conv, self.seed).validate()


# Presets (hparams/) for a flow of one's own, by channels: the Fashion-MNIST Glow for
# grayscale images, the CPU-sized CIFAR-10 Glow for colour.
PRESETS_BY_CHANNELS = {1: "fashion_mnist_glow", 3: "cifar10_glow_cpu"}
# The fashion_mnist_glow architecture's training rate on the 2-core development
# machine, whose speed varies from day to day: 280 img/s training the shipped flow
# (its report.json), 295 img/s in benchmarks/own_images.py (2026-12-03), 999 img/s for
# the isolated step on a fast day (BUILD.md).
MEASURED_IMAGES_PER_SECOND = 300
MEASURED_GLOW = GlowConfig((28, 28, 1), levels=2, steps=8, width=64)
# Time per image grows as FLOPs per image to this power: the isolated training steps
# of that flow (16.2 MFLOP) and of the paper's CIFAR-10 Glow (4,012 MFLOP), measured in
# one sitting, ran at 396 and 3.65 img/s (benchmarks/flow_throughput.py
# --configs=b,paper, 2026-12-03): log(396 / 3.65) / log(4012 / 16.2) = 0.85.
FLOPS_EXPONENT = 0.85


def config_for_images(image_shape, overrides: dict, preset: Optional[str] = None
                      ) -> Tuple[FlowTrainConfig, str]:
    """(config, preset name) of a flow for images of `image_shape`: `preset` (a name
    in hparams/ or a file) or else the one for their channels, then `overrides`. A
    preset picked here has its levels lowered to the most the image sides allow."""
    chosen = preset or PRESETS_BY_CHANNELS.get(image_shape[-1])
    if chosen is None:
        raise cfglib.ConfigError(f"No flow preset for {image_shape[-1]}-channel images: "
                                 "pass --hparams (a preset or JSON file) or --channels.")
    config = cfglib.load(FlowTrainConfig, chosen, overrides)
    fits = max_levels(*image_shape[:2])
    if preset is None and "levels" not in overrides and 0 < fits < config.levels:
        config = cfglib.load(FlowTrainConfig, chosen, {**overrides, "levels": fits})
    config.glow_config(image_shape)  # a clear error if the levels do not fit
    return config, chosen


def estimated_minutes(config: FlowTrainConfig, image_shape) -> float:
    """Training time on 2 CPU cores: the measured flow's rate, scaled by the ratio of
    FLOPs per image to the power FLOPS_EXPONENT."""
    ratio = config.glow_config(image_shape).flops_per_image() / (
        MEASURED_GLOW.flops_per_image())
    seconds_per_image = ratio ** FLOPS_EXPONENT / MEASURED_IMAGES_PER_SECOND
    return config.train_steps * config.batch_size * seconds_per_image / 60


def make_optimizer(config: FlowTrainConfig) -> keras.optimizers.Optimizer:
    cls = {"adam": keras.optimizers.Adam, "adamax": keras.optimizers.Adamax}
    return cls[config.optimizer](learning_rate=LinearWarmup(config.lr,
                                                            config.warmup_steps))


# Settings a resumed run may change (how long, how often to log), not what it learns.
RESUMABLE_CHANGES = ("train_steps", "log_every", "eval_every", "eval_examples",
                     "checkpoint_every", "max_bad_steps", "temperatures", "jit",
                     "data_dir", "strategy")


class FlowTrainer:
    """Trains `Glow` on `train` (LabeledImages), evaluating on `test`, in `out_dir`
    (under `strategy`, by default the one `config.strategy` names)."""

    def __init__(self, config: FlowTrainConfig, out_dir: str, train, test,
                 progress: bool = True, strategy: tf.distribute.Strategy = None):
        glow_config = config.glow_config(train.info.image_shape)  # fails before writing
        check_batch_fits(config.batch_size,
                         {"the flow": glow_config.activations_per_image()})
        io.prepare_out_dir(out_dir, config, may_change=RESUMABLE_CHANGES)
        provenance.check(out_dir, provenance.of(config, train, test),
                         "Resume it on the images it began with, or train on these in "
                         "another out_dir.")
        self.strategy = strategy or make_strategy(config.strategy)
        self.chief = is_chief(self.strategy)
        replicas = self.strategy.num_replicas_in_sync
        if config.batch_size % replicas:
            raise cfglib.ConfigError(f"batch_size {config.batch_size} must be a multiple "
                                     f"of the {replicas} replicas, which share it.")
        out_dir = worker_dir(out_dir, self.strategy, from_chief="checkpoints")
        self.config, self.out_dir, self.train, self.test = config, out_dir, train, test
        self.progress = progress and self.chief
        with self.strategy.scope():
            self.glow = Glow(glow_config)
            self.optimizer = make_optimizer(config)
            self.optimizer.build(self.glow.trainable_variables)
            self.step = tf.Variable(0, dtype=tf.int64, name="step")
            self.bad_in_a_row = tf.Variable(0, dtype=tf.int64, name="bad_in_a_row")
            self.skipped = tf.Variable(0, dtype=tf.int64, name="skipped")
        self.checkpoint = self.glow.checkpoint(
            optimizer=self.optimizer, step=self.step,
            bad_in_a_row=self.bad_in_a_row, skipped=self.skipped)
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, os.path.join(out_dir, "checkpoints"),
            max_to_keep=3 if self.chief else 1)
        self.writer = tf.summary.create_file_writer(os.path.join(out_dir, "tensorboard")) \
            if self.chief else tf.summary.create_noop_writer()
        xla = cfglib.use_xla(config.jit, replicas)
        self._train_step = tf.function(self._distributed_step, jit_compile=xla)
        self._bpd = tf.function(
            lambda x, seed: self.glow.bits_per_dim(x, seed, validate=False),
            jit_compile=xla)

    # -- the compiled step ----------------------------------------------------------
    def _distributed_step(self, x):
        """One step on the global batch `x`; returns (loss, gradient norm, applied)."""
        results = self.strategy.run(self._replica_step, args=(x,))
        return tuple(self.strategy.experimental_local_results(r)[0] for r in results)

    def _replica_step(self, x):
        cfg, variables = self.config, self.glow.trainable_variables
        context = tf.distribute.get_replica_context()
        replicas = context.num_replicas_in_sync
        seed = tf.stack([tf.constant(cfg.seed, tf.int64), self.step])
        y = dequantize(x, seed)  # the global batch's noise, whatever the replica count
        y = tf.reshape(y, [replicas, -1, *y.shape[1:]])[context.replica_id_in_sync_group]
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(self.glow.bits_per_dim_continuous(y)) / replicas
        grads = tape.gradient(loss, variables)
        # The global batch's loss and gradient norm; the optimizer sums the replicas'
        # gradients itself, so each passes its own, clipped by the global norm.
        loss, *summed = context.all_reduce(tf.distribute.ReduceOp.SUM, [loss, *grads])
        norm = tf.linalg.global_norm(summed)
        if cfg.grad_clip > 0:
            grads, _ = tf.clip_by_global_norm(grads, cfg.grad_clip, use_norm=norm)
        ok = tf.math.is_finite(loss) & tf.math.is_finite(norm)
        context.merge_call(self._apply_if_finite, args=(ok, grads))
        return loss, norm, ok

    def _apply_if_finite(self, strategy, ok, grads):
        """Applies `grads` if `ok` (the same on every replica), else counts a skipped
        step. Runs in cross-replica context: a branch that applies an optimizer cannot
        sit in a replica's control flow."""
        variables = self.glow.trainable_variables
        ok = strategy.experimental_local_results(ok)[0]

        def apply():
            strategy.extended.call_for_each_replica(
                lambda g: self.optimizer.apply(g, variables), args=(grads,))
            return tf.constant(0, tf.int64)

        bad = tf.cond(ok, apply, lambda: self.bad_in_a_row + 1)
        self.bad_in_a_row.assign(bad)
        self.skipped.assign_add(tf.cast(~ok, tf.int64))
        self.step.assign_add(1)

    # -- data -----------------------------------------------------------------------
    def _batches(self):
        """Endless batches; epoch e is shuffled with seed (seed, e), and a resumed
        run skips to where the checkpoint left off."""
        cfg = self.config
        per_epoch = max(len(self.train) // cfg.batch_size, 1)
        epoch, offset = divmod(int(self.step.numpy()), per_epoch)
        while True:
            ds = datalib.train_pipeline(self.train, cfg.batch_size,
                                        seed=cfg.seed * 1000003 + epoch,
                                        drop_remainder=True)
            for x, _ in ds.skip(offset):
                yield x
            epoch, offset = epoch + 1, 0

    # -- run ------------------------------------------------------------------------
    def restore_or_initialize(self):
        latest = self.manager.latest_checkpoint
        if latest:
            try:
                self.checkpoint.restore(latest).assert_existing_objects_matched()
            except (tf.errors.OpError, AssertionError, ValueError, IndexError) as e:
                raise TrainingError(
                    f"Checkpoint {latest} cannot be restored ({type(e).__name__}: "
                    f"{first_line(e)}). It is corrupt or from another "
                    f"configuration: delete {self.manager.directory} to start over, "
                    "or use another output directory.") from None
            return f"resumed from {latest} at step {int(self.step.numpy())}"
        count = min(len(self.train), 512)
        first = next(iter(datalib.eval_pipeline(self.train.take(np.arange(count)),
                                                count)))[0]
        self.glow.initialize(first, seed=(self.config.seed, 0))
        return f"initialised ActNorm from the first {count} training images"

    def evaluate(self, examples: Optional[int] = None) -> float:
        """Mean test bits/dim, uniformly dequantised with fixed seeds (the standard
        definition, and the same number every time)."""
        data = self.test if examples is None or examples >= len(self.test) else \
            self.test.take(np.arange(examples))
        total, count = 0.0, 0
        for i, (x, _) in enumerate(datalib.eval_pipeline(data, 256)):
            bpd = self._bpd(x, tf.constant([self.config.seed, -1 - i], tf.int64))
            total, count = total + float(tf.reduce_sum(bpd)), count + len(bpd)
        return total / count

    def _write_images(self, step):
        cfg, glow = self.config, self.glow
        shown = self.test.take(np.arange(min(16, len(self.test))))
        originals = next(iter(datalib.eval_pipeline(shown, 16)))[0]
        recon = glow.decode(glow.encode(originals))
        with self.writer.as_default(step=step):
            tf.summary.image("reconstruction (top: test images, bottom: decode(encode))",
                             image_grid(tf.concat([originals, recon], 0), rows=2)[None])
            for t in cfg.temperatures:
                tf.summary.image(f"samples/temperature_{t:g}",
                                 image_grid(glow.sample(16, t, seed=(cfg.seed, 1)),
                                            rows=2)[None])

    def save(self):
        return self.manager.save(checkpoint_number=int(self.step.numpy()))

    def fit(self, log=print) -> dict:
        cfg = self.config
        log(self.restore_or_initialize())
        start_step, start = int(self.step.numpy()), time.time()
        window, window_start, window_t, window_cpu = (
            [], start_step, time.time(), time.process_time())
        # Over the steps left: Progbar's ETA assumes every counted step took time.
        bar = keras.utils.Progbar(max(cfg.train_steps - start_step, 1),
                                  stateful_metrics=["bpd", "img/s"]) \
            if self.progress else None
        batches = self._batches()
        step = start_step
        try:
            while step < cfg.train_steps:
                loss, norm, ok = self._train_step(next(batches))
                step = int(self.step.numpy())
                if not bool(ok):
                    bad = int(self.bad_in_a_row.numpy())
                    log(f"step {step}: non-finite loss or gradient, step skipped "
                        f"({bad} in a row)")
                    if bad >= cfg.max_bad_steps:
                        self.save()
                        raise TrainingError(
                            f"{bad} non-finite steps in a row at step {step}: training "
                            f"diverged. Lower --lr (now {cfg.lr:g}), raise "
                            f"--warmup_steps, or set --grad_clip (now {cfg.grad_clip:g}).")
                    continue
                window.append(float(loss))
                if step % cfg.log_every == 0 or step == cfg.train_steps:
                    speed = (step - window_start) * cfg.batch_size / (
                        time.time() - window_t)
                    with self.writer.as_default(step=step):
                        tf.summary.scalar("train/bits_per_dim", np.mean(window))
                        tf.summary.scalar("train/grad_norm", float(norm))
                        tf.summary.scalar("train/lr", float(
                            self.optimizer.learning_rate))
                        tf.summary.scalar("train/images_per_second", speed)
                        tf.summary.scalar("train/cpu_seconds_per_step", (
                            time.process_time() - window_cpu) / (step - window_start))
                        tf.summary.scalar("train/skipped_steps", int(self.skipped.numpy()))
                    if bar:
                        bar.update(step - start_step,
                                   [("bpd", float(np.mean(window))),
                                          ("img/s", speed)])
                    window, window_start, window_t, window_cpu = (
                        [], step, time.time(), time.process_time())
                if step % cfg.eval_every == 0 and self.chief:
                    test_bpd = self.evaluate(cfg.eval_examples)
                    with self.writer.as_default(step=step):
                        tf.summary.scalar("test/bits_per_dim", test_bpd)
                    self._write_images(step)
                if step % cfg.checkpoint_every == 0:
                    self.save()
        except KeyboardInterrupt:
            log(f"interrupted: checkpoint {self.save()} written; rerun to resume")
            raise
        self.save()
        wall = time.time() - start
        if not self.chief:  # the chief reports
            return {"steps": step, "wall_time_s": wall}
        final = self.evaluate()
        self._write_images(step)
        self.writer.flush()
        return {"final_test_bits_per_dim": final, "test_examples": len(self.test),
                "train_examples": len(self.train),
                "steps": step, "steps_this_run": step - start_step, "wall_time_s": wall,
                "skipped_steps": int(self.skipped.numpy()), **self.history()}

    def history(self) -> dict:
        """The whole run's curve and training speed, across resumes, from the
        TensorBoard scalars (steps re-run after a resume count once)."""
        scalars = read_scalars(os.path.join(self.out_dir, "tensorboard"))
        train = scalars.get("train/bits_per_dim", {})
        test = scalars.get("test/bits_per_dim", {})
        speed = scalars.get("train/images_per_second", {})
        curve = [{"step": s, **({"train_bpd": train[s]} if s in train else {}),
                  **({"test_bpd": test[s]} if s in test else {})}
                 for s in sorted(set(train) | set(test))]
        cpu_per_step = scalars.get("train/cpu_seconds_per_step", {})
        seconds, cpu, previous = 0.0, 0.0, 0
        for s in sorted(speed):
            seconds += (s - previous) * self.config.batch_size / max(speed[s], 1e-9)
            cpu += (s - previous) * cpu_per_step.get(s, math.nan)
            previous = s
        return {"curve": curve, "train_seconds": seconds,
                "train_cpu_seconds": cpu if math.isfinite(cpu) and speed else None,
                "train_images_per_second": previous * self.config.batch_size / seconds
                if seconds else None}
