"""``python -m core`` runs the pazar CLI (handy where the script is not on PATH)."""

from core.cli import main

raise SystemExit(main())
