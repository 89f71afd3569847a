"""Configuration: the flags (kingpin style), the YAML file, the environment, and the cache roots they name."""
