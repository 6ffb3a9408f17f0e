"""The ``dropcopy`` command."""

from __future__ import annotations

import typer

from .admin import app as admin_app
from .dc import app as dc_app
from .decode import decode_command
from .ilink3 import app as ilink3_app
from .portal import app as portal_app

app = typer.Typer(
    name="dropcopy",
    help="CME Globex iLink 3, Drop Copy 4.0 and Request Center: venue and client tools.",
    no_args_is_help=True,
    add_completion=False,
)
app.command("decode")(decode_command)
app.add_typer(ilink3_app, name="ilink3")
app.add_typer(dc_app, name="dc")
app.add_typer(portal_app, name="portal")
app.add_typer(admin_app, name="admin")


@app.command("version")
def version() -> None:
    """Print the dropcopy version and the iLink 3 schema it was generated from."""
    from dropcopy import __version__
    from dropcopy.ilink3 import messages

    typer.echo(
        f"dropcopy {__version__} (iLink 3 SBE schema id {messages.SCHEMA_ID}, version "
        f"{messages.SCHEMA_VERSION}, {messages.SCHEMA_DESCRIPTION})"
    )


if __name__ == "__main__":
    app()
