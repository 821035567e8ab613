"""Keeping latent models in float32 under a global mixed-precision policy."""

import contextlib

import keras


@contextlib.contextmanager
def float32_policy():
    """Builds layers in float32 whatever the global Keras dtype policy: a latent model
    stays float32 (exact to 1e-4, and its attack gradients with it) when a user sets
    mixed_float16 or mixed_bfloat16 for their classifier."""
    saved = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float32")
    try:
        yield
    finally:
        keras.config.set_dtype_policy(saved)
