"""The OpenAI-compatible backend (langchain-openai structured output): privacy masking, reliable
calls (retries, re-ask, answer cache), the extract / rationale / agent tasks that never decide, the
prompts loaded from ``prompts/``, and the local llama.cpp server.

May import: ``agent.review`` and below. The checks always decide; this room only adds.
"""
