"""``ieb serve-validation`` and ``ieb conformance run``: the conformance kit for vendors
(docs/conformance.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from ieb.xmlsafe import MAX_BYTES

__all__ = ["conformance_app", "register"]

conformance_app = typer.Typer(
    name="conformance",
    help="Conformiteitstoetsen voor leveranciers: scenario's tegen uw eigen verzender.",
    no_args_is_help=True,
)


def serve_validation_command(
    host: Annotated[str, typer.Option("--host", help="Adres om op te luisteren.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Poort.")] = 8089,
    max_bytes: Annotated[
        int, typer.Option("--max-bytes", min=1, help="Grootste body in bytes (groter: HTTP 413).")
    ] = MAX_BYTES,
    log_level: Annotated[str, typer.Option("--log-level", help="uvicorn-logniveau.")] = "warning",
) -> None:
    """Valideer over HTTP: POST /validatie (rapport of JSON), GET /status."""
    from ieb.errors import IebError

    try:
        import uvicorn

        from ieb.conformance.service import create_app

        app = create_app(max_bytes=max_bytes)
    except (ImportError, IebError) as exc:
        typer.echo(f"fout: {exc}; installeer met: pip install 'ieb[service]'", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"validatieservice op http://{host}:{port}/validatie (status: /status)", err=True)
    uvicorn.run(app, host=host, port=port, log_level=log_level, server_header=False)


def register(app: typer.Typer) -> None:
    app.command("serve-validation")(serve_validation_command)
    app.add_typer(conformance_app, name="conformance")
