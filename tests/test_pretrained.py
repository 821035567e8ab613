"""The shipped Fashion-MNIST Glow: loads in one line, matches its report."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from conftest import requires_fashion_mnist
from tfaug import data, flows
from tfaug.flows.export import PRETRAINED_DIR


def test_shipped_flow_loads_in_one_line_with_its_report():
    glow = flows.pretrained("fashion_mnist")
    report = json.load(open(os.path.join(PRETRAINED_DIR, "fashion_mnist", "report.json")))
    assert glow.config.image_shape == (28, 28, 1)
    assert glow.config.levels == report["config"]["levels"]
    assert glow.num_parameters == report["parameters"]
    assert report["test_examples"] == 10000 and report["final_test_bits_per_dim"] < 4.0
    size = sum(os.path.getsize(os.path.join(PRETRAINED_DIR, "fashion_mnist", f))
               for f in os.listdir(os.path.join(PRETRAINED_DIR, "fashion_mnist")))
    assert size < 5 * 2 ** 20


@requires_fashion_mnist
def test_shipped_flow_reproduces_its_test_bits_per_dim_and_round_trips():
    glow = flows.pretrained("fashion_mnist")
    report = json.load(open(os.path.join(PRETRAINED_DIR, "fashion_mnist", "report.json")))
    test = data.load("fashion_mnist", "test")
    x = data.to_unit_float(test.images[:1000])  # the first 1000 of the 10000 reported
    bpd = float(tf.reduce_mean(glow.bits_per_dim(x, seed=(0, 1))))  # dequantised
    assert abs(bpd - report["final_test_bits_per_dim"]) < 0.05, bpd
    x_back = glow.decode(tf.constant(glow.encode(x[:64]).numpy()))
    np.testing.assert_allclose(x_back.numpy(), x[:64].numpy(), atol=1e-4)


def test_shipped_vaegan_loads_in_one_line_with_its_report():
    from tfaug.models import vaegan
    model = vaegan.pretrained("fashion_mnist")
    directory = os.path.join(vaegan.PRETRAINED_DIR, "fashion_mnist")
    report = json.load(open(os.path.join(directory, "report.json")))
    assert model.config.latent_dim == report["config"]["latent_dim"]
    assert report["test_reconstruction"]["images"] == 10000
    assert sum(os.path.getsize(os.path.join(directory, f))
               for f in os.listdir(directory)) < 5 * 2 ** 20
    with pytest.raises(flows.CheckpointError, match=r"shipped: fashion_mnist\.$"):
        flows.pretrained("vaegan")  # the VAE-GANs' folder is not a flow


@requires_fashion_mnist
def test_shipped_vaegan_reproduces_its_reconstruction_error_which_the_flow_beats():
    from tfaug.measures import reconstruction_error
    from tfaug.models import vaegan
    model = vaegan.pretrained("fashion_mnist")
    report = json.load(open(os.path.join(vaegan.PRETRAINED_DIR, "fashion_mnist",
                                         "report.json")))
    x = data.to_unit_float(data.load("fashion_mnist", "test").images[:1000])
    error = reconstruction_error(model, x)["mse_per_pixel"]
    assert abs(error - report["test_reconstruction"]["mse_per_pixel"]) < 0.1 * error
    assert reconstruction_error(flows.pretrained("fashion_mnist"), x[:256])[
        "mse_per_pixel"] < 1e-6 < error
