"""``python -m qdstack`` runs the command line."""

from qdstack.cli.main import main

raise SystemExit(main())
