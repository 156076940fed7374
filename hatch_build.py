"""Hatch build hook: the browser terminal's assets (``web/build.py``) go into every wheel
and editable install. Without node/npm the build goes on without them: sandlot works,
and the page at ``/`` of ``sandlot serve`` says how to build them."""

from __future__ import annotations

import importlib.util
import os
import sys
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class WebAssetsHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if os.environ.get("SANDLOT_SKIP_WEB_BUILD"):
            return
        path = os.path.join(self.root, "web", "build.py")
        if not os.path.isfile(path):  # a build from an sdist without web/
            return
        spec = importlib.util.spec_from_file_location("_sandlot_web_build", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        try:
            module.build()
        except module.BuildError as exc:
            print(f"sandlot: the browser terminal is not built: {exc}", file=sys.stderr)
