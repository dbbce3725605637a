"""The fake fal.ai server Tween's tests run against: fal's queue (submit, status and its SSE stream, result,
cancel), both storage upload flows and the CDN, on 127.0.0.1, with scripted job timelines and injected faults,
refusing what fal refuses and recording what fal would bill (`bill`, `history`, `max_at_fal()`).
It lives in the package tests/fakes/fal/; this module is the stable import path and the standalone entry:

    python -m tests.fakes.fal_server [--port N] [--queue-seconds S|none] [--run-seconds S|none] [--video-size B]
"""

from tests.fakes.fal import *  # noqa: F403 - this module only re-exports the package
from tests.fakes.fal import main

if __name__ == "__main__":
    main()
