"""tfaug: normalizing-flow data augmentation for TensorFlow/Keras."""

from setuptools import find_packages, setup

# One TensorFlow build only: plain `tensorflow` runs on CPU and, through the `gpu`
# extra, on CUDA GPUs. Never add `tensorflow-cpu`: tf-keras (needed by TFP) depends on
# `tensorflow`, and the two wheels overwrite each other's files. Each range runs from
# the lowest version tested (constraints-min.txt) to below the next untested release;
# constraints.txt is the exact set `make` installs. BUILD.md explains both.
STACK = [
    "tensorflow>=2.19,<2.22",
    "tensorflow-probability>=0.25,<0.26",
    "tf-keras>=2.19,<2.22",
    "keras>=3.10,<3.16",
    "tensorflow-datasets>=4.9.8,<4.10",
    # tfds imports it. 1.21.0 declares protobuf>=4.25.2 but its generated code needs
    # protobuf>=6.31.1, which TensorFlow 2.19 (protobuf<6) cannot have; 1.17.x runs
    # on protobuf 5 and 7 alike.
    "tensorflow-metadata>=1.17.1,<1.21",
    "importlib_resources>=6.0,<8",
    "keras-tuner>=1.4.7,<1.5",
    "scipy>=1.15,<1.18",  # with scikit-learn: keras-tuner's BayesianOptimization
    "scikit-learn>=1.6,<1.10",
    "tensorboard>=2.19,<2.22",
    "absl-py>=2.1,<3",
    "numpy>=2.1,<3",
    "matplotlib>=3.9,<3.11",
]

setup(
    name="tfaug",
    version="0.1.0",
    description="Semantic data augmentation with normalizing flows (Glow) for Keras",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.11",
    packages=find_packages(include=["tfaug", "tfaug.*"]),
    include_package_data=True,
    package_data={"tfaug": ["pretrained/*/*", "pretrained/*/*/*"]},
    install_requires=STACK,
    extras_require={
        "gpu": ["tensorflow[and-cuda]>=2.19,<2.22"],
        "test": ["pytest>=8", "pytest-xdist>=3.5"],
    },
)
