"""The client of outside FHIR servers: HTTP calls, SMART/bearer auth, allow-list policy,
and reading/writing patient records. The only package that imports ``requests`` for FHIR."""
