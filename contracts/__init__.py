"""Input contracts: canonical columns, code lists and pandera models for census extracts."""
