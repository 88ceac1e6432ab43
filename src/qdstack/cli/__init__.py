"""The ``qdstack`` command line: one small module per subcommand, wired in :mod:`qdstack.cli.main`."""
