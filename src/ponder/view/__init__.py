"""`ponder view`: a read-only web view of a store, served on loopback. Pages are rendered on the
server from the templates beside this package; the store is opened read-only and no model is
called. `create_app(store_path)` builds the app (`app.py`)."""
