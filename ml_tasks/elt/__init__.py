"""ELT: raw landing files -> validated, deduplicated, versioned Delta tables."""
