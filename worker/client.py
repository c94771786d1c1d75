"""What the worker and every client share: the connection, the data converter, the settings.

Every `Client.connect` in duban goes through `connect()` here, so every client converts and
seals payloads the same way: pydantic models in and out of every payload, and the payload
codec (worker.codec) sealing each one with the keys of worker.keys. No client can forget
it. Kept light, no activities and no worker, so the command line starts fast."""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.envconfig import ClientConfig
from temporalio.runtime import Runtime

from worker import keys
from worker.codec import SealingCodec
from worker.settings import Settings


@functools.cache
def settings() -> Settings:
    """The process's settings from the environment, read once, on first use (not at import)."""
    return Settings()


def converter(data_dir: Path | None = None) -> DataConverter:
    """pydantic payloads, sealed with the keys for `data_dir` (default: the settings'),
    which are read when first needed."""
    codec = SealingCodec(lambda: keys.load(settings(), data_dir))
    return dataclasses.replace(pydantic_data_converter, payload_codec=codec)


# The one data converter.
DATA_CONVERTER: DataConverter = converter()


def codec_of(data_converter: DataConverter) -> SealingCodec:
    codec = data_converter.payload_codec
    assert isinstance(codec, SealingCodec), "every duban client seals its payloads"
    return codec


async def connect(
    address: str | None = None,
    namespace: str | None = None,
    runtime: Runtime | None = None,
    data_dir: Path | None = None,
) -> Client:
    """A client from TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE (or the given address), traced:
    one trace runs from `duban task start` through the workflow to its SQL statements.
    Its payload keys are read now (those of `data_dir` when given): a process without
    them is refused here in one line, not at its first payload."""
    data_converter = DATA_CONVERTER if data_dir is None else converter(data_dir)
    codec_of(data_converter).ring()
    config = ClientConfig.load_client_connect_config()
    config.setdefault("target_host", address or "localhost:7233")
    if address:
        config["target_host"] = address
    if namespace:
        config["namespace"] = namespace
    return await Client.connect(
        **config,
        data_converter=data_converter,
        interceptors=[TracingInterceptor()],
        runtime=runtime,
    )
