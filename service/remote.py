"""Evaluate patients held on a FHIR server, and load sample patients into one (CLI use cases).

Composes the one FHIR client (:mod:`service.fhir_server.client`) with the pipeline, so a remote
evaluation is recorded in the audit store like any other before anything is written back.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.config import Settings
from service.errors import FhirServerError
from service.fhir_server.auth import (
    Auth,
    BearerToken,
    SmartBackendAuth,
    read_private_key,
    signing_algorithm,
)
from service.fhir_server.client import FhirServerClient
from service.fhir_server.records import WriteBack, fetch_patient_bundle, write_back
from service.metrics import observe_fhir_call
from service.pipeline import Caller, EvaluationResult, Pipeline


@dataclass(frozen=True)
class Credentials:
    """How to authorize to the FHIR server: nothing, a token, or SMART Backend Services."""

    token: str | None = None
    smart_client_id: str | None = None
    smart_key_file: str | None = None
    smart_token_url: str | None = None

    def auth(self) -> Auth | None:
        """The client auth these credentials describe.

        :raise ValueError: a SMART client id without a key file (or the reverse), or both a
            token and SMART credentials.
        """
        smart = self.smart_client_id is not None or self.smart_key_file is not None
        if self.token and smart:
            raise ValueError("give either a token or SMART credentials, not both")
        if smart:
            if not self.smart_client_id or not self.smart_key_file:
                raise ValueError("SMART Backend Services needs a client id and a key file")
            key = read_private_key(self.smart_key_file)
            algorithm = signing_algorithm(key)
            return SmartBackendAuth(
                self.smart_client_id, key, token_url=self.smart_token_url, algorithm=algorithm
            )
        return BearerToken(self.token) if self.token else None


def cli_client(base_url: str, settings: Settings, credentials: Credentials) -> FhirServerClient:
    """A client with the CLI's timeouts and retry budget (open it with ``with``)."""
    return FhirServerClient(
        base_url,
        allowlist=settings.fhir_server_allowlist,
        allow_http=settings.fhir_allow_http,
        auth=credentials.auth(),
        connect_timeout=settings.fhir_cli_connect_timeout,
        read_timeout=settings.fhir_cli_read_timeout,
        retry_budget=settings.fhir_retry_budget,
        observe=observe_fhir_call,
    )


@dataclass(frozen=True)
class RemoteEvaluation:
    result: EvaluationResult
    written: WriteBack | None


def evaluate_patient(
    client: FhirServerClient,
    pipeline: Pipeline,
    patient_id: str,
    *,
    caller: Caller,
    write: bool,
) -> RemoteEvaluation:
    """Fetch the patient's record, evaluate (and record) it, optionally write the outputs back.

    :raise service.errors.HipSpineError: the server failed (``FhirServerError``), the input
        breaks the contract, or the store cannot record.
    """
    bundle = fetch_patient_bundle(client, patient_id)
    result = pipeline.evaluate(bundle, caller=caller, patient_id=patient_id)
    written = None
    if write:
        version = result.assessment.rule_set.version
        written = write_back(client, result.outputs, rule_set_version=version)
    return RemoteEvaluation(result, written)


def load_bundles(
    client: FhirServerClient,
    files: Iterable[Path],
    *,
    progress: Callable[[Iterable[Path]], Iterable[Path]] = lambda items: items,
) -> int:
    """POST each transaction Bundle file to the server; how many were loaded.

    :raise service.errors.FhirServerError: the server refused or failed a Bundle (it is
        named in the message).
    :raise ValueError: a file is not a transaction Bundle.
    """
    count = 0
    for path in progress(files):
        bundle: Any = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(bundle, dict) or bundle.get("type") != "transaction":
            raise ValueError(f"{path.name} is not a transaction Bundle")
        try:
            client.transaction(bundle)
        except FhirServerError as exc:
            raise type(exc)(f"{path.name}: {exc.diagnostics}") from None
        count += 1
    return count


def bundle_files(directory: Path) -> list[Path]:
    """The ``*.json`` files of a sample directory except the manifest, sorted."""
    return sorted(p for p in directory.glob("*.json") if p.name != "manifest.json")
