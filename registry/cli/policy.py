"""``registry policy show`` and ``registry policy set NAME``: the stage policy the registry enforces.

A registry is created with the permissive ``mlflow`` policy (as MLflow allows every move); ``lifecycle`` is a
choice made here or with ``Registry.set_stage_policy``. The policy lives in the registry folder, so a change is
enforced by every process at its next write.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from registry.cli.context import EXIT_OK, Command, Context

__all__ = ["add_commands"]


def _describe(ctx: Context, message: str | None = None) -> int:
    policy = ctx.registry().stage_policy
    data = policy.to_dict()

    def human() -> None:
        if message:
            ctx.out.write(message)
        moves = [(src, ", ".join(dsts) or "nothing") for src, dsts in data["transitions"].items()]
        ctx.out.record([("policy", policy.name), *moves])
        for guard in data["guards"]:
            ctx.out.write(f"entering {guard['stage']} requires tag {guard['tag']}={guard['value']!r}")

    ctx.out.result(data, human)
    return EXIT_OK


def cmd_policy_show(ctx: Context) -> int:
    return _describe(ctx)


def cmd_policy_set(ctx: Context) -> int:
    ctx.registry().set_stage_policy(ctx.args.name)
    return _describe(ctx, f"The registry now enforces the '{ctx.args.name}' stage policy.")


def add_commands(group: Callable[[str, str], Any], command: Command) -> None:
    """Add the ``policy`` group with the CLI's ``group`` and ``command`` helpers."""
    policy = group("policy", "the stage policy the registry enforces: show, set")
    command(
        policy, "show", cmd_policy_show, "show which stage moves the registry allows", example="registry policy show"
    )
    p = command(
        policy,
        "set",
        cmd_policy_set,
        "enforce another stage policy from now on",
        example="registry policy set lifecycle",
    )
    p.add_argument("name", help="mlflow: any move; lifecycle: the guarded table")
