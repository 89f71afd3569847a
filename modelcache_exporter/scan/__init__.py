"""Pure scans of model cache roots, one module per layout, returning frozen dataclasses.

`detect_layout` (module `detect`) tells a root's layout from what is on disk, or says `unknown`. Which
scan a layout uses is its layout object's business (`modelcache_exporter.layouts`: `scan_root`,
`scan_one`).
"""

from __future__ import annotations

from modelcache_exporter.scan.detect import LAYOUTS, UNKNOWN, Layout, detect_layout
from modelcache_exporter.scan.model import Model, RootScan

__all__ = ["LAYOUTS", "UNKNOWN", "Layout", "Model", "RootScan", "detect_layout"]
