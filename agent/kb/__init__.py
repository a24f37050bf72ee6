"""The policy knowledge base: load, split by article, index (chromadb + BM25), search, refresh."""
