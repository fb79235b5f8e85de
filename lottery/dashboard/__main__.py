"""python -m lottery.dashboard --workdir=DIR [--port=N] [--out=FILE.html]: serve the robustness study's
dashboard on 127.0.0.1, or write a self-contained snapshot of its first screen."""

from __future__ import annotations

import argparse
import sys

from lottery import cli
from lottery.dashboard import loading, snapshot
from lottery.dashboard.server import make_server


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        """Bad flags: one line on stderr, exit 2."""
        cli.fail(message, prog=self.prog)


def main(argv=None) -> int:
    """Serves the dashboard of ``--workdir`` (or writes its snapshot with ``--out``); 0 when done."""
    parser = _Parser(prog="python -m lottery.dashboard", description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", required=True, help="the robustness run's workdir (reads DIR/analysis/)")
    parser.add_argument("--port", type=int, default=8050, help="local port (0 = any free port)")
    parser.add_argument("--out", help="write a self-contained HTML snapshot here instead of serving")
    args = parser.parse_args(argv)
    if not 0 <= args.port < 65536:
        parser.error(f"--port must be in 0…65535, got {args.port}")
    if args.out:
        try:
            size = snapshot.write(args.workdir, args.out)
        except (snapshot.TooLarge, OSError) as e:
            cli.fail(str(e), prog=parser.prog)
        missing = loading.missing_files(args.workdir)
        if missing:
            print(f"{args.workdir}: missing {', '.join(missing)}; {args.out} says what to run", file=sys.stderr)
        print(f"wrote {args.out} ({size / 1e6:.1f} MB)")
        return 0
    try:
        server = make_server(args.workdir, args.port)
    except OSError as e:
        cli.fail(f"cannot listen on 127.0.0.1:{args.port}: {e}", prog=parser.prog)
    if server.missing is not None:
        print(f"{server.missing}; serving the page that says what to run", file=sys.stderr)
    print(f"dashboard on http://127.0.0.1:{server.server_port}/ (reading the tables in the background; Ctrl-C stops)",
          flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
