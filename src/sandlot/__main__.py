"""``python -m sandlot``: the command line."""

from sandlot._cli import main

raise SystemExit(main())
