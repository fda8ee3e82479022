"""jianfu's policy layer: the 2019 Opinion as data and the screening engine.

Pure Python: no Telegram, no database. `screen(text)` is total: any string gets a `Screening`.
"""

from __future__ import annotations

from functools import cache

from policy.engine import Engine
from policy.errors import PolicyDataError, PolicyError
from policy.loader import Policy, default_policy, load_policy
from policy.models import Clause, Condition, Evidence, Finding, Screening

__all__ = [
    "Clause",
    "Condition",
    "Engine",
    "Evidence",
    "Finding",
    "Policy",
    "PolicyDataError",
    "PolicyError",
    "Screening",
    "default_engine",
    "default_policy",
    "load_policy",
    "screen",
]


@cache
def default_engine() -> Engine:
    """The national policy with the shipped model; rules alone when the model file is absent."""
    from policy.model import TextModel
    from policy.train import MODEL_FILE, rules_digest

    policy = default_policy()
    if not MODEL_FILE.is_file():
        return Engine(policy)
    model = TextModel.load(MODEL_FILE)
    if model.rules_digest != rules_digest(policy):
        raise PolicyDataError(
            f"{MODEL_FILE}: trained on other rules than {policy.sources[1]}; run `make model` to retrain"
        )
    return Engine(policy, model)


def screen(text: str) -> Screening:
    """Screen one message against the national policy."""
    return default_engine().screen(text)
