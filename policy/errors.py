"""Errors of the policy layer.

    PolicyError            base of everything this package raises on purpose
    └── PolicyDataError    a policy or rule file is missing, unreadable or invalid; the message
                           names the file and the clause, signal or rule at fault

`screen()` itself raises nothing for any input text: bad text gets a verdict, not an exception.
"""


class PolicyError(Exception):
    """Base of the policy layer's own errors."""


class PolicyDataError(PolicyError):
    """A policy data file is invalid; the message locates the fault."""
