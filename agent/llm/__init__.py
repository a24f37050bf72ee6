"""Language-model backend (OpenAI-compatible): privacy masking, reliable structured calls,
the extract / rationale / agent tasks, and the local llama.cpp server."""
