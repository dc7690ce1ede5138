"""The R4B adapter, in and out only: reads input Bundles and builds output resources.

The only package that imports ``fhir.resources.R4B``. It makes no HTTP calls (the FHIR server
client is :mod:`service.fhir_server`), draws no random numbers (the sample generator is
:mod:`service.samples`) and imports no Flask (the blueprint is :mod:`service.http.fhir`).
"""
