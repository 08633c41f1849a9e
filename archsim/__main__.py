"""``python -m archsim`` runs the command line (see archsim.cli)."""

from archsim.cli import main

raise SystemExit(main())
