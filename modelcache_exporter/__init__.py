"""modelcache-exporter: a Prometheus exporter for model caches (Hugging Face hub, local dirs, ModelScope)."""

__version__ = "0.1.0"
__all__ = ["__version__"]
