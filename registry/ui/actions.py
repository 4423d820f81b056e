"""What the UI's forms can do: a table of actions, each a small function over the public client.

An action is found by its scope (``model`` for ``POST /models/<name>/actions/<action>``, ``version`` for
``POST /models/<name>/versions/<n>/actions/<action>``) and its name. It reads its fields from the form, makes one
call on the `Registry`, and returns the sentence the next page shows. A refusal is the
client's own `RegistryError` (a stage move the policy forbids, a bad alias), which the
server shows on the page the form came from.

New actions are new rows: when transition requests and approvals exist (issue 16), ``request-transition``,
``approve-transition`` and ``reject-transition`` are three more functions of this shape under the ``version``
scope, and their forms go on the version page beside the stage form.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import attrs

from registry.client import Registry
from registry.domain.stages import Stage
from registry.domain.validation import validate_version
from registry.errors import InvalidParameterValue, ResourceDoesNotExist

__all__ = ["ACTIONS", "Action", "Target", "field", "find_action"]

MAX_FIELD_LENGTH = 20_000
"""The longest text a field may hold (a long Markdown description fits easily)."""


@attrs.frozen
class Target:
    """What an action acts on: a model, or one of its versions."""

    name: str
    version: int | None = None


Form = Mapping[str, str]
Run = Callable[[Registry, Target, Form], str]


@attrs.frozen
class Action:
    """One thing a form can do: its scope, its name (the last part of the URL) and the function that does it."""

    scope: str
    name: str
    run: Run


def field(form: Form, key: str, *, required: bool = True, strip: bool = True) -> str:
    """A form field's text.

    Raises:
        InvalidParameterValue: a required field is missing or empty, or the text is too long.
    """
    value = form.get(key, "")
    if strip:
        value = value.strip()
    if required and not value:
        raise InvalidParameterValue(f"The form needs a value for {key!r}.")
    if len(value) > MAX_FIELD_LENGTH:
        raise InvalidParameterValue(f"The field {key!r} holds {len(value):,} characters; the limit is 20,000.")
    return value


def _version(target: Target) -> int:
    assert target.version is not None  # version-scoped actions are only routed with a version
    return target.version


# -- models ---------------------------------------------------------------------------------------------------------


def describe_model(reg: Registry, target: Target, form: Form) -> str:
    reg.update_registered_model(target.name, field(form, "description", required=False, strip=False))
    return f"Saved the description of '{target.name}'."


def set_model_tag(reg: Registry, target: Target, form: Form) -> str:
    key, value = field(form, "key"), field(form, "value", required=False)
    reg.set_registered_model_tag(target.name, key, value)
    return f"Set tag {key}={value} on '{target.name}'."


def delete_model_tag(reg: Registry, target: Target, form: Form) -> str:
    key = field(form, "key")
    reg.delete_registered_model_tag(target.name, key)
    return f"Removed tag {key} from '{target.name}'."


def set_alias(reg: Registry, target: Target, form: Form) -> str:
    alias = field(form, "alias").lstrip("@")
    number = target.version if target.version is not None else validate_version(field(form, "version"))
    reg.set_registered_model_alias(target.name, alias, number)
    return f"@{alias} now points at version {number} of '{target.name}'."


def delete_alias(reg: Registry, target: Target, form: Form) -> str:
    alias = field(form, "alias").lstrip("@")
    if alias not in reg.get_registered_model(target.name).aliases:
        raise ResourceDoesNotExist(f"'{target.name}' has no alias @{alias} (it may have just been removed).")
    reg.delete_registered_model_alias(target.name, alias)
    return f"Removed @{alias} from '{target.name}'."


# -- versions -------------------------------------------------------------------------------------------------------


def describe_version(reg: Registry, target: Target, form: Form) -> str:
    reg.update_model_version(target.name, _version(target), field(form, "description", required=False, strip=False))
    return f"Saved the description of version {target.version}."


def set_version_tag(reg: Registry, target: Target, form: Form) -> str:
    key, value = field(form, "key"), field(form, "value", required=False)
    reg.set_model_version_tag(target.name, _version(target), key, value)
    return f"Set tag {key}={value} on version {target.version}."


def delete_version_tag(reg: Registry, target: Target, form: Form) -> str:
    key = field(form, "key")
    reg.delete_model_version_tag(target.name, _version(target), key)
    return f"Removed tag {key} from version {target.version}."


def transition(reg: Registry, target: Target, form: Form) -> str:
    stage = Stage.parse(field(form, "stage"))
    archive = form.get("archive_existing_versions", "") in ("true", "on", "1")
    before = reg.get_model_version(target.name, _version(target)).current_stage
    mv = reg.transition_model_version_stage(target.name, _version(target), stage, archive_existing_versions=archive)
    extra = f", archiving the other versions in {stage.value}" if archive else ""
    return f"Moved version {mv.version} from {before.value} to {mv.current_stage.value}{extra}."


ACTIONS: dict[tuple[str, str], Action] = {
    (a.scope, a.name): a
    for a in (
        Action("model", "describe", describe_model),
        Action("model", "set-tag", set_model_tag),
        Action("model", "delete-tag", delete_model_tag),
        Action("model", "set-alias", set_alias),
        Action("model", "delete-alias", delete_alias),
        Action("version", "describe", describe_version),
        Action("version", "set-tag", set_version_tag),
        Action("version", "delete-tag", delete_version_tag),
        Action("version", "set-alias", set_alias),
        Action("version", "transition", transition),
    )
}
"""Every action, by (scope, name)."""


def find_action(scope: str, name: str) -> Action | None:
    return ACTIONS.get((scope, name))
