"""Tests of the FHIR adapter."""
