"""``certreview llm``: a local language model served on 127.0.0.1 (xllamacpp is imported inside
the command)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agent.core.i18n import _

llm_app = typer.Typer(help="Local language model: serve a GGUF model on 127.0.0.1.", no_args_is_help=True)


@llm_app.command("serve")
def llm_serve(
    model: Annotated[Path, typer.Option("--model", help="A .gguf model file (see `make local-model`).")],
    port: Annotated[int, typer.Option("--port", help="Port on 127.0.0.1 (0: a free one).")] = 8080,
    threads: Annotated[int | None, typer.Option("--threads", help="CPU threads (default: all cores).")] = None,
    ctx: Annotated[int, typer.Option("--ctx", help="Context length in tokens.")] = 8192,
) -> None:
    """Serve a GGUF model as an OpenAI-compatible endpoint with xllamacpp (prebuilt llama.cpp).

    Then: CERTREVIEW_BACKEND=openai CERTREVIEW_LLM_BASE_URL=http://127.0.0.1:PORT/v1 certreview review CASE
    """
    import time

    from agent.llm.local import start_server
    from agent.report.terminal import err

    server, base_url = start_server(model, port=port, threads=threads, ctx=ctx)
    err.print(_("serving {model} at {url} (Ctrl-C to stop)", model=model.name, url=base_url), soft_wrap=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        del server
