"""ponder's exceptions. Every one carries a one-line message that names what was wrong.

PonderError
 ├── ConfigError            bad model spec, option or setting
 ├── DataError              a missing or malformed data file (names the file and line)
 ├── RequestError           an invalid GenerationRequest
 ├── ReplyFormatError       a reply that does not match the response format asked for
 ├── StoreError             the SQLite store cannot be opened or written
 ├── RunFailed              too many items of a run errored (exit status 1, not 2)
 └── ModelError             a backend failed
      ├── TransientModelError   timeouts, 429, 5xx, dropped connections: retried
      │    └── MalformedReply   a reply whose shape is not the API's (names URL and field)
      └── FatalModelError       400, 401, 404, a missing ability: not retried
           ├── ModelUnavailable     server unreachable after retries, model file missing
           ├── ChecksumMismatch     an assembled model file that is not what the registry says
           ├── UnsupportedAbility   the backend lacks what the request needs (e.g. logprobs)
           └── ContextOverflow      this prompt (+ max_tokens) does not fit the model's context
"""


class PonderError(Exception):
    """Base of every error ponder raises on purpose."""


class ConfigError(PonderError):
    pass


class DataError(PonderError):
    pass


class RequestError(PonderError, ValueError):
    pass


class StoreError(PonderError):
    pass


class ReplyFormatError(PonderError, ValueError):
    """A reply that is not the JSON its request's response format asked for."""


class RunFailed(PonderError):
    """A run stopped because more of its items errored than allowed (`--max-errors`). What was
    answered is in the store; the command exits with status 1."""

    exit_code = 1


class ModelError(PonderError):
    pass


class TransientModelError(ModelError):
    pass


class MalformedReply(TransientModelError):
    """The server answered 200 with a body that is not a valid reply of its API."""


class FatalModelError(ModelError):
    pass


class ModelUnavailable(FatalModelError):
    pass


class ChecksumMismatch(FatalModelError):
    pass


class UnsupportedAbility(FatalModelError):
    pass


class ScriptMismatch(AssertionError):
    """The scripted model was called in a way its script did not expect."""


class ContextOverflow(FatalModelError):
    """One request is too long for the model: an error of that item, not of the run."""
