"""Semantic search over the maintenance manuals: chunking, embedding, a versioned LanceDB index
with a blue/green ``live`` alias, the gate between versions, and the nightly refresh."""
