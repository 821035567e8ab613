"""Shows what latent perturbations do: writes a PNG grid (top row: test images; then,
for each latent model, its reconstructions and one row per eps of random, and with
--classifier_weights of adversarial, latent perturbations) and prints each model's
reconstruction error on the test split and on-manifold measures for each eps.

  python bin/perturb.py --eps=0.5,1,2,4 --out=runs/perturb.png
  python bin/perturb.py --latent_models=flow,vaegan      # flow and VAE-GAN side by side
  python bin/perturb.py --classifier_weights=runs/classifier/classifier.keras
  python bin/perturb.py --dataset=folder:my_images --flow=my_flow
"""

from absl import flags

import common
from tfaug.config import DataSource

FLAGS = flags.FLAGS
common.define_config_flags(DataSource)  # the dataset whose test images to perturb
flags.DEFINE_string("flow", None, "Exported flow directory (default: the shipped flow "
                                  "of the dataset).")
flags.DEFINE_string("vaegan", None, "Exported VAE-GAN directory (default: the shipped "
                                    "VAE-GAN of the dataset).")
flags.DEFINE_list("latent_models", ["flow"], "Latent models to compare: flow, vaegan.")
flags.DEFINE_integer("reconstruction_images", 10000, "Test images (at most the split) "
                                                     "for the reconstruction error.")
flags.DEFINE_list("eps", ["0.5", "1", "2", "4"], "Latent radii to show.")
flags.DEFINE_enum("norm", "l2", ["l2", "linf"], "Norm of the latent ball.")
flags.DEFINE_integer("num_images", 10, "Test images in the grid.")
flags.DEFINE_integer("measure_images", 256, "Test images the measures average over.")
flags.DEFINE_string("classifier_weights", None, "classifier.keras (or "
                                                "classifier.weights.h5 with --model) of "
                                                "a train_classifier run: adds "
                                                "adversarial rows and the flip rate.")
flags.DEFINE_string("model", "small_cnn", "Architecture of a classifier.weights.h5: "
                    "lenet, resnet18, small_cnn or the PATH.keras it was trained as.")
flags.DEFINE_float("model_width", 1.0, "Width multiplier of a classifier.weights.h5's "
                                       "built-in --model.")
flags.DEFINE_float("alpha_fraction", 0.5, "Adversarial step size as a fraction of eps.")
flags.DEFINE_integer("attack_steps", 3, "Adversarial PGD steps.")
flags.DEFINE_integer("seed", 0, "Seed of the random perturbations.")
flags.DEFINE_string("out", "runs/perturb.png", "Where to write the PNG grid.")


def main(argv):
    import numpy as np
    import tensorflow as tf

    from tfaug import augment, data, flows, models
    from tfaug.errors import ConfigError
    from tfaug.augment.base import bind_classes
    from tfaug.measures import perturbation_measures, reconstruction_error
    from tfaug.models import vaegan
    from tfaug.summaries import image_grid, write_png

    try:
        eps_list = [float(e) for e in FLAGS.eps]
    except ValueError:
        raise ConfigError(f"--eps must be numbers, got {FLAGS.eps}.") from None
    unknown = set(FLAGS.latent_models) - {"flow", "vaegan"}
    if unknown or not FLAGS.latent_models:
        raise ConfigError(f"--latent_models takes flow and/or vaegan, got "
                          f"{FLAGS.latent_models}.")
    source = common.config_from_flags(DataSource)
    flow = flows.for_dataset(source.dataset, FLAGS.flow)
    latent = {"flow": flow}
    if "vaegan" in FLAGS.latent_models:
        latent["vaegan"] = vaegan.load(FLAGS.vaegan) if FLAGS.vaegan else \
            vaegan.pretrained(source.dataset)
    test = source.load("test")
    if FLAGS.classifier_weights:
        test.require_labels("attacking a classifier")
    classes = np.maximum(test.labels, 0)  # an unlabelled pool's -1: class 0
    for name, model in latent.items():
        augment.LatentRandom(model).check_image_shape(test.info.image_shape)
    n = max(FLAGS.num_images, FLAGS.measure_images)
    images = data.to_unit_float(test.images[:n])
    classifier = None
    if FLAGS.classifier_weights:
        classifier = models.load_trained(
            FLAGS.classifier_weights, lambda: models.build(
                FLAGS.model, test.info.image_shape, test.info.num_classes,
                width=FLAGS.model_width), test.info.image_shape, test.info.num_classes)
    labels = tf.one_hot(classes[:n], max(test.info.num_classes, 1))
    rows, names = [images[:FLAGS.num_images]], ["test images"]
    recon_images = data.to_unit_float(test.images[:FLAGS.reconstruction_images])
    for name in FLAGS.latent_models:
        model = latent[name]
        error = reconstruction_error(model, recon_images,
                                     classes[:FLAGS.reconstruction_images])
        print(f"{name}: reconstruction error decode(encode(x)) - x on "
              f"{error['images']} test images: {error['mse_per_pixel']:.3g} MSE per "
              f"pixel, {error['l2_per_image']:.3g} L2 per image")
        bound = bind_classes(model, classes[:FLAGS.num_images])
        rows.append(bound.decode(bound.encode(images[:FLAGS.num_images])))
        names.append(f"{name} reconstruction")
    print(f"{'perturbation':<32}{'image L2':>10}{'image Linf':>12}{'bpd clean':>11}"
          f"{'bpd pert.':>11}{'flip rate':>11}")
    for name in FLAGS.latent_models:
        model = latent[name]
        kinds = [("random", lambda e: augment.LatentRandom(model, e, FLAGS.norm))]
        if classifier is not None:
            kinds.append(("adversarial", lambda e: augment.LatentAdversarial(
                model, e, FLAGS.alpha_fraction * e, FLAGS.attack_steps, FLAGS.norm)))
        for kind, make in kinds:
            for eps in eps_list:
                out, _ = make(eps)(images, labels, classifier, training=True,
                                   seed=tf.constant([FLAGS.seed, 0]))
                rows.append(out[:FLAGS.num_images])
                names.append(f"{name} {kind} eps={eps:g}")
                m = perturbation_measures(flow, images, out, classifier)
                print(f"{names[-1]:<32}{m['image_l2']:>10.3f}"
                      f"{m['image_linf']:>12.3f}{m['bpd_clean']:>11.3f}"
                      f"{m['bpd_perturbed']:>11.3f}"
                      f"{m.get('flip_rate', float('nan')):>11.3f}")
    write_png(FLAGS.out, image_grid(tf.concat(rows, 0), len(rows)))
    print(f"grid of {len(rows)} rows ({'; '.join(names)}); bits/dim under the flow: "
          f"{FLAGS.out}")


if __name__ == "__main__":
    common.run(main)
