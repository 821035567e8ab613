"""Trains a Glow by maximum likelihood and writes checkpoints, TensorBoard logs and a
JSON report to --out_dir (with --export_dir, the flow that --flow=DIR and
tfaug.flows.load read). Re-running with the same --out_dir resumes. Without --hparams,
the preset is picked by the images' channels (fashion_mnist_glow for grayscale,
cifar10_glow_cpu for colour), its levels lowered to what the image sides allow.

  python bin/train_flow.py --hparams=fashion_mnist_glow --out_dir=runs/flow
  python bin/train_flow.py --dataset=folder:my_images --export_dir=my_flow
  python bin/train_flow.py --hparams=fashion_mnist_glow --train_steps=200 --width=32

With TF_CONFIG naming several workers, run one process per worker (BUILD.md): they
train as one, and the chief writes --out_dir and --export_dir.
"""

import os
import time

from absl import flags

import common
from tfaug.trainers.flow import FlowTrainConfig

FLAGS = flags.FLAGS
common.define_config_flags(FlowTrainConfig,
                           "Preset name in hparams/ (e.g. fashion_mnist_glow) or a "
                           "JSON file; individual flags override it.")
flags.DEFINE_string("out_dir", "runs/flow", "Where checkpoints, TensorBoard logs and "
                                            "report.json go.")
flags.DEFINE_string("export_dir", None, "Also export the trained Glow here (config + "
                                        "weights), loadable by tfaug.flows.load.")


def main(argv):
    from tfaug import config as cfglib
    from tfaug import io
    from tfaug.flows import export
    from tfaug.trainers.flow import FlowTrainer, config_for_images, estimated_minutes

    config = common.config_from_flags(FlowTrainConfig)
    train, test = config.load("train"), config.load("test")
    shape = tuple(train.info.image_shape)
    preset = FLAGS.hparams
    if not preset:
        config, preset = config_for_images(shape, {
            **common.flag_overrides(FlowTrainConfig), "dataset": config.dataset})
    print(f"{config.dataset}: {len(train)} train / {len(test)} test images of "
          f"{'x'.join(map(str, shape))} from {train.info.source}"
          + (f" ({train.info.note})" if train.info.note else "")
          + f"; preset {preset}: {config.levels} levels x {config.steps_per_level} "
          f"steps, width {config.width}, {config.train_steps} steps (about "
          f"{estimated_minutes(config, shape):.0f} min on 2 CPU cores); TensorBoard: "
          f"{os.path.join(FLAGS.out_dir, 'tensorboard')}")
    trainer = FlowTrainer(config, FLAGS.out_dir, train, test)
    started = time.time()
    results = trainer.fit()
    if not trainer.chief:
        print(f"worker done after {results['steps']} steps; the chief reports")
        return
    report = {"config": cfglib.to_dict(config), "preset": preset,
              "data": {"train": train.info.describe(), "test": test.info.describe()},
              "seed": config.seed, "versions": io.versions(),
              "strategy": type(trainer.strategy).__name__,
              "replicas": trainer.strategy.num_replicas_in_sync,
              "glow": cfglib.to_dict(trainer.glow.config),
              "parameters": trainer.glow.num_parameters,
              "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
              "total_wall_time_s": time.time() - started, **results}
    io.write_json(os.path.join(FLAGS.out_dir, "report.json"), report)
    if FLAGS.export_dir:
        export.save(trainer.glow, FLAGS.export_dir, report)
    print(f"final test bits/dim {results['final_test_bits_per_dim']:.4f} on "
          f"{results['test_examples']} images; report: "
          f"{os.path.join(FLAGS.out_dir, 'report.json')}")


if __name__ == "__main__":
    common.run(main)
