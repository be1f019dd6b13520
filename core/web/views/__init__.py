"""The dashboard's screens, one module per area of the seed."""
