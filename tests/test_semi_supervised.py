"""Consistency training on unlabelled images: the pool, its stream, the fixmatch part,
its loss and its train step."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import h5_arrays
from flow_helpers import toy_flow, toy_images, toy_split
from tfaug import config as cfglib
from tfaug import data, flows
from tfaug.augment import FixMatch, registry
from tfaug.data.labeled import DatasetInfo, LabeledImages
from tfaug.errors import ConfigError, DataError
from tfaug.trainers import classifier
from tfaug.trainers.augmented import AugmentedModel
from tfaug.trainers.classifier import ClassifierTrainConfig, Splits, train_classifier


def _numbered(n, split="train", first=0):
    """Images whose first two pixels spell their index (first + i): every image is
    distinct and says where it came from."""
    images = toy_images(n, seed=first)
    index = np.arange(first, first + n)
    images[:, 0, 0, 0], images[:, 0, 1, 0] = index // 256, index % 256
    info = DatasetInfo("numbered", split, (8, 8, 1), tuple("ab"), n, "memory")
    return LabeledImages(images, np.arange(n) % 2, info)


def _index(images):
    return images[:, 0, 0, 0].astype(int) * 256 + images[:, 0, 1, 0]


def _config(**overrides):
    values = dict(dataset="mnist", model="small_cnn", model_width=0.25,
                  labels_per_class=4, val_per_class=3, epochs=2, batch_size=4,
                  lr=0.05, jit=False,
                  augmentation="fixmatch(mu=2,threshold=0.5,weak=standard(pad=1),"
                               "strong=latent_random(eps=0.5))")
    return cfglib.from_dict(ClassifierTrainConfig, {**values, **overrides})


def test_default_pool_holds_no_labelled_validation_or_test_image():
    full = _numbered(60)
    test = _numbered(10, "test", first=1000)
    test.images[:2] = full.images[[5, 17]]  # two training images reappear in test
    splits = classifier.load_splits(_config(), full, test)
    pool = splits.unlabelled
    used = set(_index(splits.train.images)) | set(_index(splits.val.images))
    assert len(splits.train) == 8 and len(splits.val) == 6
    assert not set(_index(pool.images)) & used
    assert not set(_index(pool.images)) & {5, 17}  # dropped: identical to test images
    assert set(_index(pool.images)) | used | {5, 17} == set(range(60))
    assert len(pool) == 60 - 14 - len({5, 17} - used)
    assert not pool.info.labelled and (pool.labels == -1).all()
    assert "dropped" in pool.info.note


def test_own_pool_is_every_image_of_its_source_without_evaluated_ones(tmp_path):
    full, test = _numbered(40), _numbered(10, "test", first=1000)
    extra = _numbered(30, first=2000).images
    pool_images = np.concatenate([extra, test.images[:3], full.images[:4]])
    np.savez(tmp_path / "pool.npz", x=pool_images)
    splits = classifier.load_splits(_config(unlabelled=f"npz:{tmp_path}/pool.npz"),
                                    full, test)
    kept = set(_index(splits.unlabelled.images))
    used = set(_index(splits.train.images)) | set(_index(splits.val.images))
    assert set(range(2000, 2030)) <= kept  # no test fraction held out of a pool
    assert not kept & set(range(1000, 1010)) and not kept & used
    assert kept - set(range(2000, 2030)) == set(range(4)) - used


def test_pool_of_other_images_is_a_clear_error(tmp_path):
    np.savez(tmp_path / "big.npz", x=np.zeros((5, 4, 4, 1), np.uint8))
    with pytest.raises(DataError, match=r"unlabelled images are \(4, 4, 1\)"):
        classifier.load_splits(_config(unlabelled=f"npz:{tmp_path}/big.npz"),
                               _numbered(40), _numbered(10, "test", first=1000))


def test_resumed_stream_continues_both_streams_where_it_stopped():
    splits = classifier.load_splits(_config(), _numbered(60),
                                    _numbered(10, "test", first=1000))
    fresh, _ = classifier.fit_datasets(_config(), splits, {})
    resumed, _ = classifier.fit_datasets(_config(), splits, {}, start_batch=5)
    expected = list(fresh.take(7))[5:]
    for (x, y), (x2, y2) in zip(expected, resumed.take(2)):
        assert x["unlabelled"].shape == (8, 8, 8, 1)  # mu x batch_size
        np.testing.assert_array_equal(x["unlabelled"], x2["unlabelled"])
        np.testing.assert_array_equal(x["images"], x2["images"])
    first = _index(np.round(np.concatenate(
        [x["unlabelled"] for x, _ in fresh.take(5)]) * 255).astype(np.uint8))
    assert len(set(first)) == 40  # 46 pool images: one pass, no repeats yet


def test_pool_latents_are_cached_for_a_latent_strong_view_and_match_its_images():
    glow = toy_flow()
    splits = classifier.load_splits(_config(), _numbered(60),
                                    _numbered(10, "test", first=1000))
    for spec, cached in (("fixmatch(strong=latent_random)", True),
                         ("fixmatch(strong=standard+latent_random)", False)):
        train_ds, _ = classifier.fit_datasets(_config(augmentation=spec), splits,
                                              {"flow": glow})
        x, _ = next(iter(train_ds))
        assert ("unlabelled_latents" in x) == cached
        if cached:
            np.testing.assert_allclose(x["unlabelled_latents"],
                                       glow.encode(tf.identity(x["unlabelled"])),
                                       atol=1e-4)
    fixmatch = registry.build("fixmatch(weak=none,strong=latent_random(eps=1))",
                              {"flow": glow})
    images = tf.constant(toy_images(4, seed=3) / np.float32(255))
    seed = tf.constant([3, 4])
    _, fresh = fixmatch.views(images, None, seed)
    _, cached = fixmatch.views(images, None, seed, glow.encode(tf.identity(images)))
    np.testing.assert_allclose(fresh, cached, atol=1e-5)


def test_consistency_loss_is_zero_where_no_prediction_passes_the_threshold():
    fixmatch = FixMatch("none", "none", threshold=0.9)
    weak = tf.constant([[0.0, 1.0], [2.0, 0.0], [0.0, 0.1]])  # top p 0.73, 0.88, 0.52
    strong = tf.constant([[3.0, -3.0], [-1.0, 1.0], [0.0, 2.0]])
    loss, passed = fixmatch.loss(weak, strong)
    assert float(loss) == 0.0 and float(passed) == 0.0
    loss, passed = FixMatch("none", "none", threshold=0.8).loss(weak, strong)
    expected = tf.nn.sparse_softmax_cross_entropy_with_logits([0], strong[1:2])[0] / 3
    assert float(passed) == pytest.approx(1 / 3)
    assert float(loss) == pytest.approx(float(expected), rel=1e-6)


def _dense_model():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 1))
    return keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(inputs)))


def _trained_weights(spec, flow=None):
    model = AugmentedModel(_dense_model(), spec, flow=flow)
    model.compile(keras.optimizers.SGD(0.1),
                  keras.losses.CategoricalCrossentropy(from_logits=True),
                  jit_compile=False)
    labelled = toy_split(16)
    x = {"images": labelled.images, "unlabelled": toy_images(16, seed=5)}
    model.fit(x, tf.one_hot(labelled.labels, 2), batch_size=8, epochs=2, verbose=0,
              shuffle=False)
    return [w.numpy() for w in model.classifier.weights]


def test_no_pseudo_label_past_the_threshold_trains_as_without_unlabelled_images():
    supervised = _trained_weights("none")
    silent = _trained_weights("fixmatch(threshold=1.0,weak=none,strong=cutout)")
    confident = _trained_weights("fixmatch(threshold=0.0,weak=none,strong=cutout)")
    # equal up to float summation order (one forward pass over 3x the rows)
    assert max(np.abs(a - b).max() for a, b in zip(supervised, silent)) < 1e-6
    assert max(np.abs(a - b).max() for a, b in zip(supervised, confident)) > 1e-3


def test_latent_strong_views_are_flow_perturbations_of_the_unlabelled_images():
    glow = toy_flow()
    images = tf.constant(toy_images(6, seed=3) / np.float32(255))
    model = _dense_model()
    for strong, moved in (("latent_random(eps=0.0)", False),
                          ("latent_random(eps=2.0,norm=l2)", True),
                          ("latent_adversarial(eps=2.0,alpha=1.0,steps=2)", True)):
        fixmatch = registry.build(f"fixmatch(weak=none,strong={strong})",
                                  {"flow": glow})
        weak, view = fixmatch.views(images, model, tf.constant([1, 2]))
        np.testing.assert_array_equal(weak, images)
        z, z_view = glow.encode(images), glow.encode(tf.identity(view))
        dz = np.linalg.norm(np.reshape(z_view - z, (6, -1)), axis=1)
        if moved:  # on the eps-sphere, up to what clipping to [0, 1] changes
            assert np.abs(dz - 2.0).max() < 0.1, dz
        else:
            assert dz.max() < 1e-3, dz


def test_tensorboard_shows_the_views_and_how_far_each_moves_its_images(tmp_path):
    from tensorboard.backend.event_processing import event_accumulator
    config = _config(epochs=1, image_every=1,
                     augmentation="fixmatch(mu=2,weak=none,strong=cutout(size=4))")
    full, test = _numbered(60), _numbered(10, "test", first=1000)
    train_classifier(config, str(tmp_path), classifier.load_splits(config, full, test),
                     verbose=0)
    events = event_accumulator.EventAccumulator(
        str(tmp_path / "tensorboard" / "images"), size_guidance={"tensors": 0})
    events.Reload()
    grid = events.Tensors("clean, weak view, strong view (rows)")[0].tensor_proto
    assert int(grid.string_val[1]) == 3 * 8  # height: three rows of 8-pixel images
    distance = {name: float(tf.make_ndarray(events.Tensors(
        f"view_distance/{name}")[0].tensor_proto)) for name in ("weak", "strong")}
    assert distance["weak"] == 0.0  # weak=none leaves the images as they are
    assert 0.0 < distance["strong"] <= 4.0  # a 4x4 cutout: at most 16 pixels of <= 1


def test_resumed_semi_supervised_run_equals_the_uninterrupted_one(tmp_path):
    glow = toy_flow()
    flows.save(glow, str(tmp_path / "flow"))
    config = _config(flow=str(tmp_path / "flow"), epochs=3,
                     augmentation="standard(pad=1)+fixmatch(mu=2,threshold=0.5,"
                                  "strong=latent_random(eps=0.5))")
    full, test = _numbered(60), _numbered(10, "test", first=1000)

    class StopAtBatch(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if int(self.model.optimizer.iterations.numpy()) == 3:
                raise KeyboardInterrupt

    whole = train_classifier(config, str(tmp_path / "whole"),
                             classifier.load_splits(config, full, test), verbose=0)
    with pytest.raises(KeyboardInterrupt):
        train_classifier(config, str(tmp_path / "cut"),
                         classifier.load_splits(config, full, test), verbose=0,
                         callbacks=[StopAtBatch()])
    resumed = train_classifier(config, str(tmp_path / "cut"),
                               classifier.load_splits(config, full, test), verbose=0)
    assert resumed["optimizer_steps"] == whole["optimizer_steps"] == 6
    assert whole["sizes"]["unlabelled"] == 60 - 14
    assert 0 <= whole["history"]["pseudo_labels"][-1] <= 1
    ours = h5_arrays(tmp_path / "cut" / "classifier.weights.h5")
    theirs = h5_arrays(tmp_path / "whole" / "classifier.weights.h5")
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(ours, theirs))


@pytest.mark.parametrize("spec, message", [
    ("fixmatch(strong=mixup)", "changes labels"),
    ("fixmatch(strong=latent_adversarial(amortized=true))", "keeps state per training"),
    ("fixmatch(strong=latent_random(copies=2))", "adds copies"),
    ("fixmatch(threshold=1.5)", r"threshold must be in \[0, 1\]"),
    ("fixmatch(mu=0)", "mu must be an integer >= 1"),
    ("fixmatch+standard+fixmatch", "one consistency part"),
    ("fixmatch(strong=latent_magic)", "Unknown augmentation 'latent_magic'"),
    ("fixmatch(strong=standard(pad=1)", "unbalanced"),
])
def test_bad_consistency_specs_are_clear_errors(spec, message):
    with pytest.raises(ConfigError, match=message):
        registry.validate(spec)


def test_unlabelled_without_a_consistency_part_is_a_clear_error():
    with pytest.raises(ConfigError, match="feeds a consistency part"):
        _config(augmentation="standard", unlabelled="folder:/tmp")


def test_a_consistency_part_is_no_layer():
    with pytest.raises(ConfigError, match="use tfaug.AugmentedModel"):
        registry.build("standard+fixmatch(weak=none,strong=cutout)").as_layer()


def test_a_batch_without_unlabelled_images_is_a_clear_error():
    model = AugmentedModel(_dense_model(), "fixmatch(weak=none,strong=none)")
    model.compile("sgd", keras.losses.CategoricalCrossentropy(from_logits=True),
                  jit_compile=False)
    with pytest.raises(ConfigError, match="'unlabelled': unlabelled"):
        model.fit(toy_split(8).images, tf.one_hot(toy_split(8).labels, 2), verbose=0)


def test_nested_specs_read_and_write_the_one_way():
    spec = "standard+fixmatch( mu=3 ,strong=latent_adversarial(eps=1)+cutout(size=4))"
    assert registry.canonical(spec) == ("standard+fixmatch(mu=3,strong=latent_adversarial"
                                        "(eps=1.0)+cutout(size=4))")
    assert registry.latent_models_needed(spec) == {"flow"}
    assert registry.consistency(spec).params["mu"] == 3
    assert registry.consistency("standard") is None
