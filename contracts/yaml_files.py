"""Reading the project's YAML files (rules, standards, contracts, sidecars).

Every rule, standard and sidecar is read through `safe_load`, which uses libyaml's C parser when
PyYAML was built with it (the wheels on PyPI are) and the pure-Python parser otherwise: the same
documents, about eight times faster. A run reads some 180 of these files.
"""

from __future__ import annotations

from typing import IO, Any

import yaml

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(stream: str | bytes | IO[str] | IO[bytes]) -> Any:
    """`yaml.safe_load`, with the C parser where there is one."""
    return yaml.load(stream, Loader=_LOADER)  # noqa: S506 - a safe loader (CSafeLoader or SafeLoader)
