"""The policy knowledge base: load policy files (md/txt/pdf/docx), split by 第X条 into clauses with
topics and stable clause ids, index them (chromadb with an explicit embedder + BM25 over jieba),
hybrid search, refresh by hash with an atomic swap and one writer at a time; ``kb check``. On a
shared chroma server (``remote``): versioned collections behind a pointer, BM25 derived from the
served one; the writer lock is injected (``agent.core.locks``).

May import: ``agent.extract`` (the lexicon for query expansion), ``agent.records``, ``agent.core``.
"""
