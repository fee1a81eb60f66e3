"""The one failure a run ends with when a role gives up, and how to find it under Ray's wrapping.

The coordinator raises RoleFailed where a role has failed max_restarts + 1
times in a row. Ray delivers it wrapped (a RayTaskError of the coordinator's
call; under Ray Data, again inside the map stage's error): `role_failure`
unwraps that once, where the driver gets it, and the CLI catches the type.
"""

from __future__ import annotations


class RoleFailed(RuntimeError):
    def __init__(self, role: str, replica: int, attempts: int, last: BaseException | str | None):
        self.role, self.replica, self.attempts = role, replica, attempts
        self.last = last if isinstance(last, str) or last is None else \
            f"{type(last).__name__}: {(str(last).splitlines() or [''])[0]}"
        super().__init__(f"the {role} role (replica {replica}) failed {attempts} times; last error: {self.last}")

    def __reduce__(self):  # through Ray's pickling with its own fields, not the message
        return RoleFailed, (self.role, self.replica, self.attempts, self.last)


def raise_role_failure(e: BaseException) -> None:
    """Raise the RoleFailed inside a Ray-wrapped error, if there is one (the caller re-raises the rest)."""
    if (failed := role_failure(e)) is not None:
        raise failed from None


def role_failure(e: BaseException) -> RoleFailed | None:
    """The RoleFailed inside a Ray-wrapped error (its cause chain), or None."""
    seen: set[int] = set()
    stack = [e]
    while stack:
        x = stack.pop()
        if x is None or id(x) in seen:
            continue
        seen.add(id(x))
        if isinstance(x, RoleFailed):
            return RoleFailed(x.role, x.replica, x.attempts, x.last)  # a plain one, not Ray's dual class
        stack += [getattr(x, "cause", None), x.__cause__, x.__context__]
    return None
