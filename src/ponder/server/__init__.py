"""`ponder serve`: an OpenAI-compatible endpoint that answers with ponder's strategies.

`schema` (the shapes read and written), `routing` (which strategy on which backend, from the
model field and the `ponder` extension), `translate` (request fields into ponder's objects, and
what a route cannot honour refused), `engine` (running and storing a request), `reply` (the
reply and its streamed chunks), `guards` (keys, body size, concurrency), `errors` (OpenAI's error
shape), `config` (the config file and limits), `app` (the FastAPI app).
"""
