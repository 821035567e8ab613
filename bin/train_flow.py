"""Trains a Glow by maximum likelihood and writes checkpoints, TensorBoard logs and a
JSON report to --out_dir. Re-running with the same --out_dir resumes.

  python bin/train_flow.py --hparams=fashion_mnist_glow --out_dir=runs/flow
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
    from tfaug.trainers.flow import FlowTrainer

    config = common.config_from_flags(FlowTrainConfig)
    train, test = config.load("train"), config.load("test")
    print(f"{config.dataset}: {len(train)} train / {len(test)} test images from "
          f"{train.info.source}; TensorBoard: {os.path.join(FLAGS.out_dir, 'tensorboard')}")
    trainer = FlowTrainer(config, FLAGS.out_dir, train, test)
    started = time.time()
    results = trainer.fit()
    if not trainer.chief:
        print(f"worker done after {results['steps']} steps; the chief reports")
        return
    report = {"config": cfglib.to_dict(config), "preset": FLAGS.hparams,
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
