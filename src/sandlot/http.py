"""The ``sandlot+http`` backend's public names: a sandbox served by ``sandlot serve``.

``open_sandbox("sandlot+http://HOST:PORT", **{"sandlot+http": HttpOptions(token=...)})``,
or the token as ``?token=`` in the URL, or ``$SANDLOT_TOKEN``. See docs/serve.md.
"""

from __future__ import annotations

from ._backends.http import HttpOptions

__all__ = ["HttpOptions"]
