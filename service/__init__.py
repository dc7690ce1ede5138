"""hipspine-cds: hip-spine syndrome clinical decision support over FHIR R4 and CDS Hooks 2.0."""

from __future__ import annotations

__version__ = "0.1.0"
