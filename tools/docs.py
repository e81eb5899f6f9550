"""Generate the reference parts of docs/ from the code, or check that they are current.

    python -m tools.docs write     # docs/configuration.md and docs/events.md
    python -m tools.docs check     # exit 1 if either is stale (make test checks it too)

The configuration reference lists every field of every settings class (ServiceSettings
and its subclasses: each service's, the topics command's), with its default and the
description from its docstring; a field without one stops the generator, so no
``CRM_`` setting goes undocumented. The event catalogue is the registry's.
"""

from __future__ import annotations

import importlib
import re
import sys
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from pydantic.fields import FieldInfo

from services import NAMES
from shared.events import REGISTRY
from shared.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[1]
CONFIGURATION = ROOT / "docs" / "configuration.md"
EVENTS = ROOT / "docs" / "events.md"


class Undocumented(Exception):
    """A setting without a description (a docstring under the field, or ``description``)."""


def settings_classes() -> list[type[ServiceSettings]]:
    """ServiceSettings and every subclass the services and commands define."""
    for name in NAMES:
        try:
            importlib.import_module(f"services.{name}.settings")
        except ModuleNotFoundError as missing:
            if missing.name != f"services.{name}.settings":
                raise
    importlib.import_module("shared.topics_admin")
    found, pending = [ServiceSettings], [ServiceSettings]
    while pending:
        for subclass in pending.pop().__subclasses__():
            if subclass.__module__.startswith(("shared.", "services.")):
                found.append(subclass)
                pending.append(subclass)
    return found


def reader(cls: type[ServiceSettings]) -> str:
    if cls is ServiceSettings:
        return "every service"
    if cls.__module__ == "shared.topics_admin":
        return "`python -m shared.topics_admin`"
    return cls.__module__.split(".")[1]


def rows() -> list[tuple[str, str, str, str, str]]:
    """(variable, read by, type, default, description) for every field, sorted by variable."""
    table: dict[str, tuple[str, str, str, str, str]] = {}
    undocumented = []
    for cls in settings_classes():
        own = cls.__annotations__
        for name, field in cls.model_fields.items():
            if name not in own:
                continue  # inherited unchanged: listed with the class that declares it
            description = " ".join((field.description or "").split()).replace("``", "`")
            if not description:
                undocumented.append(f"{cls.__name__}.{name}")
            variable = f"CRM_{name.upper()}"
            if variable in table:  # a service overriding a shared default
                previous = table[variable]
                default = f"{previous[3]}; {reader(cls)}: {default_of(field)}"
                table[variable] = (*previous[:3], default, previous[4])
                continue
            row = (variable, reader(cls), type_of(field), default_of(field), description)
            table[variable] = row
    if undocumented:
        raise Undocumented("settings without a description: " + ", ".join(undocumented))
    return sorted(table.values())


def type_of(field: FieldInfo) -> str:
    annotation = field.annotation
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin in (typing.Union, types.UnionType) and len(args) == 1:
        annotation = args[0]
        if typing.get_origin(annotation) is typing.Literal:
            return " \\| ".join(f"`{a}`" for a in typing.get_args(annotation))
    if "AwareDatetime" in str(annotation):
        return "RFC 3339 time"
    names = {SecretStr: "secret", Path: "path", str: "text", int: "integer", float: "number"}
    names[bool] = "boolean"
    if isinstance(annotation, type) and annotation in names:
        return names[annotation]
    return re.sub(r"[A-Za-z_.]+\.", "", str(annotation))


def default_of(field: FieldInfo) -> str:
    value: Any = field.default
    if value is None:
        return "unset"
    if isinstance(value, SecretStr):
        return "empty" if not value.get_secret_value() else "(secret)"
    if isinstance(value, Path) and value.is_absolute():
        return f"`{value.relative_to(ROOT)}`"
    if value == "":
        return "empty"
    return f"`{value}`"


LOCAL_SCRIPTS = """\
## Variables of the local scripts

Read by `deploy/local/*.sh` (`make infra`, `make up`, `make test`), not by the services
(which also read `CRM_DATA_DIR`, and the ports and credentials above):

| variable | default | what it does |
|---|---|---|
| `CRM_PYTHON` | `.venv/bin/python` | the interpreter that runs the services |
| `CRM_KAFKA_CONTROLLER_PORT` | `59093` | the local broker's KRaft controller port |
| `CRM_SERVICES_READY_TIMEOUT` | `90` | seconds `services.sh start` waits for each service |
"""


def configuration() -> str:
    lines = [
        "# Configuration reference",
        "",
        "<!-- Generated by `python -m tools.docs write` from the settings classes; "
        "do not edit by hand. -->",
        "",
        "Every setting is an environment variable prefixed `CRM_` (pydantic-settings); a",
        "service reads the shared ones and its own, and refuses to start on a value it",
        'cannot use, naming the setting. "every service" includes the gateway.',
        "",
        "| variable | read by | type | default | what it does |",
        "|---|---|---|---|---|",
    ]
    for variable, who, kind, default, description in rows():
        lines.append(f"| `{variable}` | {who} | {kind} | {default} | {description} |")
    return "\n".join(lines) + "\n\n" + LOCAL_SCRIPTS


def events() -> str:
    catalogue = REGISTRY.catalogue()
    by_topic: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for event_type, entry in catalogue["events"].items():
        by_topic.setdefault(entry["topic"], []).append((event_type, entry))
    lines = [
        "# Event catalogue",
        "",
        "<!-- Generated by `python -m tools.docs write` from shared.events.REGISTRY; "
        "do not edit by hand. -->",
        "",
        "Every event is a CloudEvents 1.0 message in structured JSON mode (see",
        "[architecture.md](architecture.md)); `data` follows the schema of its `type`. The",
        "JSON Schema of each is served at `GET /v1/events/catalogue`. Every topic is keyed",
        "by customer and has 12 partitions (`shared/topics.py`).",
        "",
        "Personal fields (contact details, free texts, consent proofs, attributes; *sealed*",
        "below) travel sealed: empty in the clear, their values in `sealed`, an envelope",
        '`{"kid", "ct", "alg": "A256GCM"}` under the data subject\'s key, which erasure',
        "destroys (`shared/sealing.py`). An event without `sealed` reads as it is.",
    ]
    for topic in sorted(by_topic):
        lines += ["", f"## `{topic}`", "", "| type | what happened | data |", "|---|---|---|"]
        for event_type, entry in by_topic[topic]:
            description = describe(event_type, entry["description"])
            description = description.replace("|", "\\|")
            shown = fields(entry["schema"]) + _sealed(entry)
            lines.append(f"| `{event_type}` | {description} | {shown} |")
    return "\n".join(lines) + "\n"


def _sealed(entry: dict[str, Any]) -> str:
    sealed = entry.get("sealed_fields")
    return f"; *sealed*: {', '.join(f'`{f}`' for f in sealed)}" if sealed else ""


def describe(event_type: str, description: str) -> str:
    if description.startswith("Inbound["):  # the gateway's wrapper of a partner event
        partner_type = event_type.split(".")[2].replace("_", ".", 1)
        version = event_type.rsplit(".", 1)[1]
        description = (
            f"A partner's `{partner_type}` as the gateway accepted it: the partner, its event "
            "id and customer reference, and the activity that profile re-publishes"
        )
        if version != "v1":  # why a later version exists: its activity's first line says
            activity = event_type.replace("crm.inbound.", "crm.activity.")
            description += f" ({version}: see `{activity}`)"
    return " ".join(description.split()).replace("``", "`").replace("|", "\\|")


def fields(schema: dict[str, Any]) -> str:
    required = set(schema.get("required", []))
    shown = [name for name in schema.get("properties", {}) if name != "sealed"]  # see above
    names = [f"`{name}`" if name in required else f"`{name}`?" for name in shown]
    return ", ".join(names) or "—"


def main(command: str) -> int:
    wanted = {CONFIGURATION: configuration(), EVENTS: events()}
    if command == "write":
        for path, text in wanted.items():
            path.write_text(text)
        return 0
    stale = [
        str(path.relative_to(ROOT))
        for path, text in wanted.items()
        if not path.exists() or path.read_text() != text
    ]
    if stale:
        print(f"stale: {', '.join(stale)}; run python -m tools.docs write", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "check"))
