"""Keras' BackupAndRestore with every file written whole."""

import json
import os

import keras

from tfaug import io
from tfaug.errors import CheckpointError, first_line


class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
    """Keras writes its backup in place, so a kill in mid-write leaves a torn file
    (its double checkpoint then falls back to the previous one). Here each file is
    written to a temporary name and renamed into place; the previous backup is kept
    as Keras' `.bkp` files. The epoch to resume at is read from the restored
    optimizer's step count (backups are taken at epoch ends), not from the separate
    metadata file, so a kill between the two renames cannot pair the weights of one
    epoch with the count of another."""

    def __init__(self, backup_dir: str, steps_per_epoch: int, **kwargs):
        super().__init__(backup_dir, **kwargs)
        self.steps_per_epoch = steps_per_epoch

    def restore(self) -> None:
        """Loads the last backup, if any, into the model (set_model first), falling
        back to the previous one if the last is torn; an unreadable backup is a
        CheckpointError naming the directory to delete."""
        try:
            self.on_train_begin()
        except (OSError, ValueError, KeyError) as e:
            raise CheckpointError(
                f"The backup in {self.backup_dir} cannot be restored "
                f"({type(e).__name__}: {first_line(e)}"
                "): delete that directory to start the run over.") from None

    def _load_model(self):
        super()._load_model()
        if os.path.exists(self._weights_path):
            steps = int(self.model.optimizer.iterations.numpy())
            self.model._initial_epoch = steps // self.steps_per_epoch

    def _save_model(self):
        os.makedirs(self.backup_dir, exist_ok=True)
        if self.double_checkpoint:
            for path in (self._weights_path, self._training_metadata_path):
                if os.path.exists(path):
                    with open(path, "rb") as f:
                        io.write_atomic(f"{path}.bkp", f.read())
        io.save_weights_atomic(self.model, self._weights_path)
        io.write_atomic(self._training_metadata_path, json.dumps(
            {"epoch": self._current_epoch, "batch": self._last_batch_seen}).encode())
