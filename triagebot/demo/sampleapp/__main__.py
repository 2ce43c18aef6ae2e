"""`python -m triagebot.demo.sampleapp --build buggy --port N`: serve Tiny Shop until interrupted."""

from __future__ import annotations

import argparse
import sys
import threading

from triagebot.demo.sampleapp.server import serve_sample_app


def main(argv: list[str] | None = None) -> int:
    """Serve the chosen build and print its URL."""
    parser = argparse.ArgumentParser(prog="python -m triagebot.demo.sampleapp", description=__doc__)
    parser.add_argument("--build", choices=["buggy", "fixed"], default="buggy")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--setup-secret", default=None, help="enables the signed data-setup endpoint")
    args = parser.parse_args(argv)
    app = serve_sample_app(args.build, args.port, host=args.host, setup_secret=args.setup_secret)
    print(f"Tiny Shop ({args.build}) at {app.url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        app.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
