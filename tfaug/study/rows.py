"""A study's result rows: the variants a run can be, and a cell's values by seed
(shared by the report and its evidence sections)."""

from typing import Dict

MAIN, CAPACITY, MATCHED = "", "capacity", "matched compute"


def by_seed(rows, budget, method, variant=MAIN, key="test_accuracy") -> Dict[int, float]:
    """{seed: row[key]} of the runs of one (budget, method, variant) cell."""
    return {r["seed"]: r[key] for r in rows if r["labels_per_class"] == budget
            and r["method"] == method and r["variant"] == variant}
