"""``python -m pazar`` runs the pazar CLI (handy where the script is not on PATH)."""

from pazar.cli import main

raise SystemExit(main())
