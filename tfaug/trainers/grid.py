"""A grid of classifier runs over labelled-data budgets, each budget with its own
schedule length (shared by the study and the tuning of every method)."""

import dataclasses
from typing import Dict, Optional, Tuple

from tfaug import config as cfglib
from tfaug.augment import registry
from tfaug.errors import ConfigError
from tfaug.trainers.classifier import ClassifierTrainConfig

field = cfglib.field


@dataclasses.dataclass(frozen=True)
class BudgetGrid(ClassifierTrainConfig):
    """Classifier settings shared by every run, plus budgets and their schedules."""
    runs_augmentation = False  # each run's method is its own spec
    budgets: Tuple[int, ...] = field((10, 50, 250), "Labelled examples per class.")
    steps_by_budget: Tuple[int, ...] = field((), "Optimizer steps of a run at each "
                                                 "budget (same order as budgets), split "
                                                 "into `epochs` epochs; empty: epochs x "
                                                 "steps_per_epoch everywhere.")
    method_budgets: Dict[str, Tuple[int, ...]] = field(
        {}, "Methods (labels) run at some budgets only, {label: [budgets]}; every "
            "other method runs at every budget.")
    method_steps: Dict[str, Tuple[int, ...]] = field(
        {}, "Methods (labels) trained for other step counts than steps_by_budget, "
            "{label: [steps at each budget]}, e.g. consistency training, which needs "
            "longer than supervised methods to converge.")

    def validate(self):
        if self.labels_per_class is not None or self.label_fraction is not None:
            raise ConfigError("A grid sets labels per class from budgets; do not set "
                              "labels_per_class or label_fraction.")
        if not self.budgets or min(self.budgets) < 1:
            raise ConfigError(f"budgets must be integers >= 1, got {self.budgets}.")
        schedules = {"steps_by_budget": self.steps_by_budget, **{
            f"method_steps[{label!r}]": steps for label, steps in self.method_steps.items()}}
        if self.method_steps and not self.steps_by_budget:
            raise ConfigError("method_steps needs steps_by_budget (the other methods' "
                              "steps).")
        for name, steps in schedules.items():
            if steps and len(steps) != len(self.budgets):
                raise ConfigError(f"{name} needs one entry per budget "
                                  f"({len(self.budgets)}), got {list(steps)}.")
            uneven = [s for s in steps if s < self.epochs or s % self.epochs]
            if uneven:
                raise ConfigError(f"{name} {uneven} must be multiples of epochs "
                                  f"({self.epochs}).")
        if self.model_weights != "fresh":
            raise ConfigError("A grid of runs compares methods from fresh weights drawn "
                              "per seed (its results do not record other initial "
                              "weights): leave model_weights at fresh; fine-tune a "
                              "model file's weights with train_classifier or tune.")
        stray = {label: list(b) for label, b in self.method_budgets.items()
                 if not b or set(b) - set(self.budgets)}
        if stray:
            raise ConfigError(f"method_budgets {stray} must each list some of budgets "
                              f"{list(self.budgets)}.")
        return super().validate()

    def budgets_of(self, label: str) -> Tuple[int, ...]:
        """The budgets method `label` runs at."""
        return tuple(b for b in self.budgets
                     if b in self.method_budgets.get(label, self.budgets))

    def steps(self, budget: int, label: Optional[str] = None) -> int:
        """Optimizer steps of a run at `budget` (of method `label`)."""
        if self.steps_by_budget and budget in self.budgets:
            schedule = self.method_steps.get(label, self.steps_by_budget)
            return schedule[self.budgets.index(budget)]
        if self.steps_by_budget:
            raise ConfigError(f"No schedule for budget {budget}: budgets are "
                              f"{self.budgets}.")
        if self.steps_per_epoch is None:
            raise ConfigError("Set steps_by_budget or steps_per_epoch: a grid's runs "
                              "need a fixed length.")
        return self.epochs * self.steps_per_epoch

    def run_config(self, budget: int, augmentation: str, seed: int,
                   label: Optional[str] = None, **updates) -> ClassifierTrainConfig:
        """The validated classifier config of one run (of method `label`)."""
        steps = updates.pop("steps", None) or self.steps(budget, label)
        if registry.consistency(augmentation) is None:
            updates.setdefault("unlabelled", None)  # a pool only for consistency parts
        return cfglib.narrow(ClassifierTrainConfig, self, labels_per_class=budget,
                             augmentation=augmentation, seed=seed,
                             steps_per_epoch=max(steps // self.epochs, 1), **updates)
