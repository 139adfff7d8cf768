"""The ``clipdrop-widgets`` command (also ``python -m clipdrop_widgets``).

Each subcommand is a function registered in :func:`build_parser` with ``set_defaults(run=...)``;
it takes the parsed arguments and returns the exit status.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
from collections.abc import Sequence

__all__ = ["build_parser", "main"]

#: Environment variable read for ``serve --api-key`` when the option is absent, so the key
#: need not appear in a process list.
ENGINE_KEY_ENV = "CLIPDROP_ENGINE_API_KEY"


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _serve(args: argparse.Namespace) -> int:
    from .engine import serve

    signal.signal(signal.SIGTERM, _stop)  # a plain kill stops it as cleanly as Ctrl-C
    api_key = args.api_key if args.api_key is not None else os.environ.get(ENGINE_KEY_ENV)
    try:
        serve(host=args.host, port=args.port, api_key=api_key or None, credits=args.credits,
              rate_limit=args.rate_limit, workers=args.workers, queue=args.queue)
    except OSError as err:
        print(f"clipdrop-widgets serve: cannot listen on {args.host}:{args.port}: "
              f"{err.strerror or err}", file=sys.stderr)
        return 1
    return 0


def _demo(args: argparse.Namespace) -> int:
    from .launch import demo

    written = demo(args.out)
    print(f"{len(written)} results written to {args.out}")
    return 0


def _studio(args: argparse.Namespace) -> int:
    from .launch import launch_studio

    return launch_studio(lab=args.lab, port=args.port, host=args.host,
                         open_browser=args.open)


def _non_negative(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text}")
    return int(value) if value.is_integer() else value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {text}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser, one subparser per subcommand."""
    parser = argparse.ArgumentParser(
        prog="clipdrop-widgets",
        description="Jupyter widgets for the ClipDrop image APIs, with an offline local engine.",
    )
    commands = parser.add_subparsers(title="commands", dest="command", required=True)

    serve = commands.add_parser(
        "serve",
        help="serve the ClipDrop API offline on this machine (outputs are previews)",
        description="Serve the five ClipDrop endpoints from the local engine over HTTP. "
                    "Outputs are offline previews, not ClipDrop results.",
    )
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to bind (default: %(default)s, loopback only)")
    serve.add_argument("--port", type=int, default=8765,
                       help="TCP port, 0 for any free one (default: %(default)s)")
    serve.add_argument("--api-key", metavar="KEY",
                       help=f"the only key accepted, others get 403 (default: ${ENGINE_KEY_ENV}"
                            ", else any non-empty key)")
    serve.add_argument("--credits", type=_non_negative, default=100,
                       help="starting credit balance (default: %(default)s)")
    serve.add_argument("--rate-limit", action="store_true",
                       help="enforce the documented requests per minute per key (429)")
    serve.add_argument("--workers", type=_positive_int, metavar="N",
                       help="operations run at once (default: the machine's cores)")
    serve.add_argument("--queue", type=_non_negative_int, metavar="N",
                       help="requests waiting beyond those running before 503 Busy "
                            "(default: twice --workers)")
    serve.set_defaults(run=_serve)

    studio = commands.add_parser(
        "studio",
        help="open the Studio (all five apps) in Voila or JupyterLab",
        description="Serve the Studio on this machine. Without CLIPDROP_API_KEY it runs on the "
                    "local engine (offline previews).",
    )
    studio.add_argument("--lab", action="store_true", help="JupyterLab instead of Voila")
    studio.add_argument("--host", default="127.0.0.1", help="address (default: %(default)s)")
    studio.add_argument("--port", type=int, default=8866, help="TCP port (default: %(default)s)")
    studio.add_argument("--open", action="store_true", help="open a web browser")
    studio.set_defaults(run=_studio)

    demo = commands.add_parser(
        "demo",
        help="run all five operations on the local engine and save the results",
    )
    demo.add_argument("--out", default="clipdrop-demo", help="folder (default: %(default)s)")
    demo.set_defaults(run=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
