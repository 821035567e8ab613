"""tfaug: normalizing-flow data augmentation for TensorFlow/Keras."""

from setuptools import find_packages, setup

# One TensorFlow build only: plain `tensorflow` runs on CPU and, through the `gpu`
# extra, on CUDA GPUs. Never add `tensorflow-cpu`: tf-keras (needed by TFP) depends on
# `tensorflow`, and the two wheels overwrite each other's files. BUILD.md explains pins.
STACK = [
    "tensorflow==2.21.0",
    "tensorflow-probability==0.25.0",
    "tf-keras==2.21.0",
    "keras==3.15.1",
    "tensorflow-datasets==4.9.10",
    "importlib_resources>=6.0",
    "keras-tuner==1.4.8",
    "scipy==1.17.1",  # with scikit-learn: keras-tuner's BayesianOptimization
    "scikit-learn==1.9.1",
    "tensorboard==2.21.0",
    "absl-py>=2.1",
    "numpy>=1.26,<3",
    "matplotlib==3.10.8",
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
        "gpu": ["tensorflow[and-cuda]==2.21.0"],
        "test": ["pytest>=8", "pytest-xdist>=3.5"],
    },
)
