"""The lowest layer: logfmt logging and the parsing of configuration values, shared by every other package."""
