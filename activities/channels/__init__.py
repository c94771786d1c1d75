"""Notification channels, one module per channel in this folder. A channel module declares
`CHANNEL = ChannelSpec(...)`: its name (workflows.names.Channel), its settings class
(DUBAN_* variables), its sender, the contact it needs from a person, and whether it is an
IM robot. The registry finds every module here (`base` and `_`-prefixed helpers aside) and
builds the ones their settings turn on; routing and the worker read it, nothing else lists
the channels."""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Mapping
from typing import Any

from activities.channels.base import Channel, ChannelSpec, PermanentFailure
from activities.channels.webhook import WebhookChannel
from workflows.names import Channel as ChannelName

__all__ = ["Channel", "ChannelSpec", "PermanentFailure", "WebhookChannel", "build", "specs"]


@functools.cache
def specs() -> dict[str, ChannelSpec[Any]]:
    """Every channel module's spec, in the order of workflows.names.Channel (the order IM
    robots are tried for a person with no preference)."""
    found: dict[str, ChannelSpec[Any]] = {}
    for module in pkgutil.iter_modules(__path__):
        if module.name == "base" or module.name.startswith("_"):
            continue
        spec = getattr(importlib.import_module(f"{__name__}.{module.name}"), "CHANNEL", None)
        if not isinstance(spec, ChannelSpec):
            raise TypeError(f"{__name__}.{module.name} declares no CHANNEL = ChannelSpec(...)")
        found[spec.name] = spec
    order = list(ChannelName)
    return dict(sorted(found.items(), key=lambda item: order.index(item[1].name)))


def build(given: Mapping[str, Any] | None = None) -> dict[str, Channel]:
    """Every channel its settings turn on. Each reads its own DUBAN_* variables; a value in
    `given` (settings passed in code, by field name) comes first."""
    channels: dict[str, Channel] = {}
    for name, spec in specs().items():
        fields = spec.settings.model_fields
        values = {k: v for k, v in (given or {}).items() if k in fields}
        channel = spec.build(spec.settings(**values))
        if channel is not None:
            channels[name] = channel
    return channels
