"""The synthetic sample-data generator (``hipspine sample-data``): seeded random patients."""
