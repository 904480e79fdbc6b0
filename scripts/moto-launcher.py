"""Start moto's server on 127.0.0.1 and keep it running until SIGTERM/SIGINT.

This is the one place where the local emulator is launched, so patches to moto's behaviour
(e.g. an ECS deployment lifecycle) go here, before the server starts.

    moto-launcher.py --port 5000 [--env MOTO_ECS_SERVICE_RUNNING=1]...
"""

import argparse
import os
import signal
import threading


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set in the server's environment before moto is imported (repeatable)",
    )
    args = parser.parse_args()
    for pair in args.env:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            parser.error(f"--env expects NAME=VALUE, got {pair!r}")
        os.environ[name] = value

    # Imported after --env: some moto settings are read at import time.
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server.start()
    print(f"moto listening on http://127.0.0.1:{args.port}", flush=True)
    stop.wait()
    server.stop()


if __name__ == "__main__":
    main()
