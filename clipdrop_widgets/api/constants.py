"""The client's defaults in one place (seconds, requests, credits).

Contract numbers (limits, rates, costs) live in `clipdrop_widgets.contract.endpoints`.
"""

DEFAULT_BASE_URL = "https://clipdrop-api.co"
#: The in-process local engine's address: requests routes it to the engine, no socket opened.
LOCAL_BASE_URL = "local://engine"
API_KEY_ENV = "CLIPDROP_API_KEY"
BASE_URL_ENV = "CLIPDROP_API_URL"

#: (connect, read) timeout in seconds for every request unless a call gives its own: at most
#: 10 s to connect, then at most 120 s to send the request and receive the whole answer.
DEFAULT_TIMEOUT = (10.0, 120.0)
DEFAULT_MAX_RETRIES = 2
#: Backoff: first retry after INITIAL_RETRY_DELAY s, doubling, at most MAX_RETRY_DELAY s.
INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
#: A server's Retry-After is obeyed up to this many seconds; a longer one is raised at once.
MAX_RETRY_AFTER = 60.0
#: Credits the in-process local engine's practice counter starts from; when they run out it
#: starts again instead of refusing (offline previews are free). `serve` defaults to 100.
LOCAL_ENGINE_CREDITS = 1000
#: Connections kept open per host: enough for a sweep's concurrent requests.
CONNECTION_POOL_SIZE = 32
#: Bytes read of an error answer at most (a JSON object of one short message in the contract).
MAX_ERROR_BYTES = 1_000_000
#: The folder of the pacers' files shared by processes (default: the user cache folder).
PACER_DIR_ENV = "CLIPDROP_PACER_DIR"
